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

// The one answer of a command. Move-only. Destroyed unanswered, it answers "internal error"
// (and logs the bug); answering twice is a CSERVICE_CHECK failure.
class Reply {
 public:
  using Sink = std::function<void(Result<nlohmann::json>)>;
  explicit Reply(Sink sink) : sink_(std::move(sink)) {}
  Reply(Reply&& other) noexcept : sink_(std::move(other.sink_)) { other.sink_ = nullptr; }
  Reply& operator=(Reply&&) = delete;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  ~Reply();

  void ok(nlohmann::json result);
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
};

}  // namespace cservice::commands
