#pragma once
// WorkerChannel: how workers send commands (and events) to their master, the original's
// worker-to-master message bus, for any language. The master listens on a unix stream socket in
// the abstract namespace and passes its address to every worker as CSERVICE_CONTROL_SOCKET
// ("@cservice-control/<pid>/<random>"). No access key: the kernel tells who connected
// (SO_PEERCRED), and only the master's workers (and their descendants running as the worker's
// user) are served; anyone else is answered 401 and closed, and logged at most once a second
// (the next line saying how many were held back). The names the handler gets are the worker's
// own text: escape them (sanitize_text) before they reach a log line.
//
// Protocol version 1 (kWorkerChannelVersion), newline-delimited JSON, one request at a time per
// connection, answered in order:
//   request:  {"name": "workers", "args": ["simple"]}            ("args" optional)
//   answer:   {"status": 200, "result": <JSON>}  (202: an operation started with async)
//             {"status": 404, "error": "unknown command 'x' (try help)"}
// A line longer than kMaxLineBytes, or one that is not such an object, gets a 400 answer and
// the connection is closed. Loop thread only.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/ids.hpp"
#include "control/control_plane.hpp"

namespace cservice::controlplane {

inline constexpr int kWorkerChannelVersion = 1;

class WorkerChannel {
 public:
  static constexpr std::size_t kMaxLineBytes = 64 * 1024;
  static constexpr std::size_t kMaxConnections = 256;

  // The worker that `peer` speaks for, or nullopt if it is none of ours.
  using Authorize = std::function<std::optional<Pid>(PeerCredentials peer)>;
  // Runs a request of `worker`; `done` gets the answer, once, possibly later.
  using Handler = std::function<void(Pid worker, std::string name, std::vector<nlohmann::json> args,
                                     std::function<void(Outcome)> done)>;

  static Result<std::unique_ptr<WorkerChannel>> open(boost::asio::io_context& io,
                                                     Authorize authorize, Handler handler);
  ~WorkerChannel();

  const std::string& address() const;  // for CSERVICE_CONTROL_SOCKET

 private:
  struct Impl;
  explicit WorkerChannel(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace cservice::controlplane
