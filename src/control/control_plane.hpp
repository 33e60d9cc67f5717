#pragma once
// ControlPlane runs command lines for callers: it checks the key and the trust level, parses
// the line, finds the command and runs it, and turns the outcome into an answer. The HTTP
// endpoint (the original's `POST /cli?cmd=<line>&accessKey=<key>`) and the console both come
// through here, so they behave the same. Loop thread only.

#include "commands/command.hpp"
#include "commands/registry.hpp"
#include "control/access.hpp"
#include "control/http_server.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace cservice::controlplane {

// The answer to one command line.
struct Outcome {
  // HTTP status: 200, 400, 401, 404, 405, 500 (a failure inside the command, or a bug of
  // ours), 504 (a command that did not answer in time)
  unsigned status = 200;
  nlohmann::json result;  // with 200
  std::string error;      // otherwise
};

class ControlPlane {
 public:
  ControlPlane(commands::Registry& registry, commands::Context& context, AccessPolicy access,
               bool allow_http_get);

  // Runs `line` for a caller at `caller` level presenting `key`; `done` gets the outcome.
  void run(std::string_view line, std::string_view key, TrustLevel caller,
           std::function<void(Outcome)> done);

  // Runs command `name` for a caller authenticated otherwise (library code at inproc, a worker
  // known by its peer credentials at local): only the level is checked.
  void run_trusted(const std::string& name, std::vector<nlohmann::json> args, TrustLevel caller,
                   std::function<void(Outcome)> done);

  // Whether an HTTP request head presents a valid key (HttpServer's Authenticate).
  bool authenticates(const HttpRequest& head) const;
  // The HTTP endpoint. Logs one line per request, with the key masked.
  void on_http(HttpRequest request, HttpServer::Respond respond);

 private:
  void dispatch(const commands::Command& command, const std::vector<nlohmann::json>& args,
                std::function<void(Outcome)> done);

  commands::Registry& registry_;
  commands::Context& context_;
  AccessPolicy access_;
  bool allow_http_get_;
};

// `target` with the value of accessKey replaced by "***", for logs.
std::string mask_key(std::string_view target);

}  // namespace cservice::controlplane
