#pragma once
// The client side of the REST API, for remote mode: sends one command line to a running
// service and returns its answer. Blocking, with a time-out; used outside any event loop.

#include "base/error.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace cservice::controlplane {

// HTTPS for the client: the server's certificate must chain to a certificate of `ca_file`
// (any one of them may be the anchor, a self-signed server certificate too), or to the
// system's store when it is empty, and name the host called.
struct ClientTls {
  std::string ca_file;
};

struct ClientAnswer {
  unsigned status = 0;
  std::string body;
};

// POST /cli?cmd=<line> to host:port, the key in an Authorization: Bearer header (kept out of
// URLs and logs), over HTTPS with `tls`. A 401 answer to that is asked once more with the key in
// the query (accessKey=), the only place an original (Node.js) master reads it; both exchanges
// together take at most `timeout`. Errors: connection refused, time-out, a certificate refused,
// and the like, each with a hint at the cause.
Result<ClientAnswer> send_command(const std::string& host, std::uint16_t port,
                                  const std::string& key, const std::string& line,
                                  std::chrono::milliseconds timeout,
                                  const std::optional<ClientTls>& tls = {});

}  // namespace cservice::controlplane
