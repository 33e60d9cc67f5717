#pragma once
// The client side of the REST API, for remote mode: sends one command line to a running
// service and returns its answer. Blocking, with a time-out; used outside any event loop.

#include "base/error.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
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

// One event of GET /events: its id (empty for one without, such as `missed`), its name and its
// data line (JSON).
struct StreamEvent {
  std::string id;
  std::string name;
  std::string data;
};
using EventCallback = std::function<void(const StreamEvent&)>;

// Follows GET /events on host:port (over HTTPS with `tls`), the key as a Bearer token, resuming
// after `last_id` if given: `on_event` gets each event as it comes. Returns once the service
// ends the stream (it stops). Errors: no connection, a refusal ("the service refused: 401 ..."),
// the connection lost, or nothing heard for `idle_timeout` (the service sends a heartbeat every
// 15 s).
Result<void> follow_events(const std::string& host, std::uint16_t port, const std::string& key,
                           const std::optional<std::string>& last_id,
                           const EventCallback& on_event, std::chrono::milliseconds idle_timeout,
                           const std::optional<ClientTls>& tls = {});

}  // namespace cservice::controlplane
