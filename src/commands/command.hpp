#pragma once
// A command of the service: a name, its help, the trust level it requires by default, and an
// asynchronous handler that answers exactly once through a Reply, possibly much later
// (`restart all` answers when done). Runs on the master's loop.

#include "base/clock.hpp"
#include "base/error.hpp"
#include "base/ids.hpp"
#include "commands/test_run.hpp"
#include "commands/trust_level.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cservice::supervisor {
class Supervisor;
}

namespace cservice::commands {
class Operations;
}

namespace cservice::commands {

// How a command succeeded: done (HTTP 200), or accepted (202: an operation was started and
// goes on; the result says how to follow it).
enum class Success { Done, Accepted };

// The one answer of a command. Move-only. Destroyed unanswered, it answers "internal error"
// (and logs the bug); answering twice is a CSERVICE_CHECK failure.
class Reply {
 public:
  // Gets the answer; `success` says which kind a result is (ignored for an error).
  using Sink = std::function<void(Result<nlohmann::json>, Success success)>;
  explicit Reply(Sink sink) : sink_(std::move(sink)) {}
  // A sink that needs no distinction between done and accepted.
  explicit Reply(std::function<void(Result<nlohmann::json>)> sink)
      : sink_([sink = std::move(sink)](Result<nlohmann::json> r, Success) { sink(std::move(r)); }) {}
  Reply(Reply&& other) noexcept : sink_(std::move(other.sink_)) { other.sink_ = nullptr; }
  Reply& operator=(Reply&&) = delete;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  ~Reply();

  void ok(nlohmann::json result);
  // Answers 202: the work was started and goes on after this answer.
  void accepted(nlohmann::json result);
  void fail(Error error);

 private:
  Sink sink_;
};

// A running process's resource use, from /proc.
struct ProcessStats {
  std::uint64_t rss_bytes = 0;
  double cpu_seconds = 0;
};

// What commands may look at and act on.
struct Context {
  supervisor::Supervisor& supervisor;
  const Clock& clock;
  TimePoint started_at;        // when the master started
  std::string version;
  std::function<std::optional<ProcessStats>(Pid)> process_stats;
  // Stops every worker, then the master exits; `force` kills them at once, else each gets
  // `stop_timeout` (default stopTimeoutMs) before SIGKILL.
  std::function<void(bool force, std::optional<Milliseconds> stop_timeout)> shutdown_service;
  // Runs a test script against the service (the `test` command; an upgrade's gate may use it
  // too). Empty where no runtime runs programs.
  TestRunner run_test = {};
  // The long commands' operations (restart, upgrade, rollback, start, shutdown), shared by every
  // entry point. Null: long commands answer when done and cannot be run with {"async": true}.
  Operations* operations = nullptr;
  // Calls `fire` on the loop once `delay` has passed, unless the returned function is called
  // first (it cancels). Empty where no loop runs: `wait` then takes no timeout.
  std::function<std::function<void()>(Milliseconds delay, std::function<void()> fire)> after = {};
};

class Registry;

struct Command {
  std::string name;
  std::string usage;        // "workers [simple|details]"
  std::string description;  // one or two sentences
  TrustLevel level = TrustLevel::Remote;
  std::function<void(Context& context, const Registry& registry,
                     const std::vector<nlohmann::json>& args, Reply reply)>
      run;
  // More arguments than this are a bad request, refused before run (nullopt: run decides).
  std::optional<std::size_t> max_args = std::nullopt;
  // The command whose access a call also needs, if any (`cancel 3` acts on operation 3, an
  // upgrade: the caller needs what `upgrade` needs too). The control plane checks it like the
  // command's own level (and a key's command list); nullopt: nothing more. Must not throw.
  std::function<std::optional<std::string>(const Context& context,
                                           const std::vector<nlohmann::json>& args)>
      acts_as = {};
};

}  // namespace cservice::commands
