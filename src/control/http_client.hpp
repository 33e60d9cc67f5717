#pragma once
// The client side of the REST API, for remote mode: sends one command line to a running
// service and returns its answer. Blocking, with a time-out; used outside any event loop.

#include "base/error.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace cservice::controlplane {

struct ClientAnswer {
  unsigned status = 0;
  std::string body;
};

// POST /cli?cmd=<line> to host:port, the key in an Authorization: Bearer header (kept out of
// URLs and logs). Errors: connection refused, time-out, and the like.
Result<ClientAnswer> send_command(const std::string& host, std::uint16_t port,
                                  const std::string& key, const std::string& line,
                                  std::chrono::milliseconds timeout);

}  // namespace cservice::controlplane
