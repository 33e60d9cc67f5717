#pragma once
// The types of custom commands and events (see service.hpp for on(), trigger() and call()).
//
// A command answers once, with a result (any JSON) or an error; the caller sees the same answer
// whichever way it asked: REST (`POST /cli?cmd=...`), the CLI, the console, trigger() in the
// master or call() in a worker.

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cservice {

// The answer to a command, as its caller receives it.
struct Answer {
  // 200 success; 202 accepted (a long command run with {"async": true}: the result names the
  // operation, which goes on); 400 bad request; 401 refused (key or access level); 404 no such
  // command; 409 busy; 500 the command failed; 503 no service to ask; 504 no answer in time.
  int status = 200;
  nlohmann::json result;  // with 200 or 202
  std::string error;      // otherwise
  // Any 2xx: the command succeeded (or, 202, its operation was started).
  bool ok() const { return status >= 200 && status < 300; }
};

// A command's arguments, parsed from its command line: `greet "Ann" 3 {"loud": true}` gives
// ["Ann", 3, {"loud": true}].
using Args = std::vector<nlohmann::json>;

// How a command handler answers. Copies share one answer: the first ok() or fail() counts and
// later ones are ignored (also once the command has timed out). A Reply may be kept and answered
// later, from any thread. When the last copy is destroyed unanswered, the caller gets a 500
// error at once rather than waiting for the time-out.
class Reply {
 public:
  void ok(nlohmann::json result = nlohmann::json::object()) const;
  // `status` is 400 (bad request), 404 (not found) or 500 (failed, the default); other values
  // count as 500.
  void fail(std::string message, int status = 500) const;
  // True once an answer has been given (by any copy) or the command has timed out.
  bool answered() const;

  struct State;
  explicit Reply(std::shared_ptr<State> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<State> state_;
};

// A custom command: runs on the master's loop thread. It must not block: answer at once, or
// keep the Reply and answer when the work is done. An exception it throws is caught, logged and
// answered as a 500 error; the service keeps running.
using CommandHandler = std::function<void(const Args& args, Reply reply)>;

// What `help` shows about a command, who may call it, and how long it may take.
struct CommandInfo {
  std::string usage;        // "greet name [times]"; empty: the overridden built-in's, or "NAME"
  std::string description;  // empty: the overridden built-in's, or a generic line
  // The default access level: "remote" (anyone with the key), "local" (loopback peers and the
  // service's workers), "inproc" (the console and library code), "disabled". Empty: the
  // overridden built-in's level, or "remote". control() and the `control` option override it.
  std::string level;
  // How long the command may take before the caller gets a 504; 0: the commandTimeoutMs option
  // (30 s by default).
  std::chrono::milliseconds timeout{0};
};

// An event: workerStart and workerExit ({"worker": 1, "pid": 1234, "reason": "start"}), or a
// custom one raised with trigger(), whose data is the array of its arguments.
struct Event {
  std::string name;
  nlohmann::json data;
};

// An event subscriber: runs on the master's loop thread, must not block; an exception it throws
// is caught and logged.
using EventHandler = std::function<void(const Event& event)>;

// Receives the answer of trigger(): on the master's loop thread in the master; in a worker, on
// the calling thread before trigger() returns.
using Callback = std::function<void(const Answer& answer)>;

}  // namespace cservice
