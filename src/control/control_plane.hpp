#pragma once
// ControlPlane runs command lines for callers: it checks the key and the trust level, parses
// the line, finds the command and runs it, and turns the outcome into an answer. The HTTP
// endpoint (the original's `POST /cli?cmd=<line>&accessKey=<key>`) and the console both come
// through here, so they behave the same. Loop thread only.

#include "base/rate_limiter.hpp"
#include "commands/answer.hpp"
#include "commands/command.hpp"
#include "commands/registry.hpp"
#include "control/access.hpp"
#include "control/event_stream.hpp"
#include "control/http_server.hpp"

#include <boost/url/params_view.hpp>

#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>

namespace cservice::controlplane {

// The answer to one command line: the one answer type (commands/answer.hpp), whose status is
// also the HTTP status: 200, 202 (an operation started with {"async": true}), 400, 401, 404,
// 405, 409, 500 (a failure inside the command, or a bug of ours), 504 (a command that did not
// answer in time).
using Outcome = cservice::Answer;

// Who runs a command: its trust level and where it came from ("127.0.0.1", "console",
// "worker pid 1234", "library"), for the access check and the audit record.
struct Caller {
  TrustLevel level;
  std::string origin;
};

// One command run by a caller the control plane knows (a key it accepted, or a trusted caller):
// what an audit trail records. Never the key itself, only its index among the configured keys.
struct AuditRecord {
  std::string command;
  const Caller& caller;
  std::optional<std::size_t> key;  // the index of the key presented, if any
  const Outcome& outcome;
};

class ControlPlane {
 public:
  using Audit = std::function<void(const AuditRecord&)>;

  ControlPlane(commands::Registry& registry, commands::Context& context, AccessPolicy access,
               bool allow_http_get);

  // Called once for every command run by a known caller, when it is answered (refusals of
  // that caller included; requests without a valid key are not: they are only logged).
  void set_audit(Audit audit) { audit_ = std::move(audit); }
  // Serves GET /events from `events` (which must outlive this object); without it, /events is
  // an unknown path.
  void set_events(EventStream* events) { events_ = events; }

  // Runs `line` for `caller` presenting `key`; `done` gets the outcome.
  void run(std::string_view line, std::string_view key, Caller caller,
           std::function<void(Outcome)> done);

  // Runs command `name` for a caller authenticated otherwise (library code at inproc, a worker
  // known by its peer credentials at local): only the level is checked.
  void run_trusted(const std::string& name, std::vector<nlohmann::json> args, Caller caller,
                   std::function<void(Outcome)> done);

  // Whether an HTTP request head presents a valid key (HttpServer's Authenticate).
  bool authenticates(const HttpRequest& head) const;
  // The HTTP endpoint: `POST /cli?cmd=<line>`, or the line as the body when `cmd` is absent (as
  // the original reads it; a form body `cmd=<line>` too). Logs one line per request, with every key masked and the target made
  // printable; answers of 400 and above (keyless or malformed requests any peer can send in a
  // loop) at most one line a second per status, the next saying how many were held back.
  void on_http(HttpRequest request, HttpServer::Respond respond);

  // The trust level GET /events needs unless the config's `control` says otherwise (name
  // `events`): any caller with the key, as `workers` and `health`.
  static constexpr TrustLevel kEventsLevel = TrustLevel::Remote;

 private:
  // The command whose access this call also needs (Command::acts_as), if any.
  std::optional<std::string> acted_on(const commands::Command& command,
                                      const std::vector<nlohmann::json>& args) const;
  void dispatch(const commands::Command& command, const std::vector<nlohmann::json>& args,
                std::function<void(Outcome)> done);
  // `done`, which also hands the outcome to the audit hook.
  std::function<void(Outcome)> audited(std::string command, Caller caller,
                                       std::optional<std::size_t> key,
                                       std::function<void(Outcome)> done) const;
  // GET /events[?lastEventId=N]: the key and level checked, then the event stream.
  void on_events(const HttpRequest& request, const boost::urls::params_view& params,
                 HttpServer::Respond respond);

  commands::Registry& registry_;
  commands::Context& context_;
  AccessPolicy access_;
  bool allow_http_get_;
  Audit audit_;
  EventStream* events_ = nullptr;
  // The log lines of answers >= 400, by status. Shared with the answers in flight: a command
  // may answer after the control plane is gone (a rollout cut short by the end of the loop).
  std::shared_ptr<RateLimiter> refusals_;
};

// `target` for logs: the value of every accessKey parameter (however its name is spelled or
// encoded) replaced by "***", then made printable and bounded (sanitize_text).
std::string mask_key(std::string_view target);

}  // namespace cservice::controlplane
