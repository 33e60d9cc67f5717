#pragma once
// A test run: a program run against the running service, with the service's environment
// (CSERVICE_URL, CSERVICE_HOST, CSERVICE_PORT, CSERVICE_ACCESS_KEY, as directory commands get),
// and what its end means. The `test` command runs one; an upgrade can use the same runner as a
// gate, through Context::run_test, without going through the command.
//
// A test passes when it exits 0. It fails when it exits otherwise, is killed by a signal, cannot
// be started, or runs past its time-out (then its whole process group is killed).
//
// The runner itself is the runtime's (app/ wires Runtime::run_program into Context::run_test);
// everything here is pure.

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/error.hpp"
#include "supervisor/types.hpp"

namespace cservice::commands {

struct TestRun {
  std::string script;                   // absolute path, checked to be executable
  std::vector<std::string> args;        // argv[1...]
  std::optional<Milliseconds> timeout;  // nullopt: none
};

// How a run ended, as the runner saw it.
struct TestOutcome {
  std::optional<supervisor::ExitStatus> status;  // nullopt: it did not start
  bool timed_out = false;                        // killed when the time-out ran out
  std::string output;       // stdout and stderr in the order written: their last bytes
  bool truncated = false;   // earlier output was dropped
  std::string start_error;  // why it did not start
  Milliseconds duration{0};
};

// Runs `run`; `done` gets the outcome exactly once, on the master's loop (also when the script
// cannot be started). Returns a function that kills the run early (an upgrade's gate that is no
// longer wanted); `done` still gets its outcome.
using TestRunner =
    std::function<std::function<void()>(TestRun run, std::function<void(TestOutcome)> done)>;

// The longest time-out a caller may give (a week): longer ones are refused rather than
// overflowing a timer.
inline constexpr Milliseconds kMaxTestTimeout{7LL * 24 * 3600 * 1000};

// The run that `test` arguments ask for:
//   test testScript [timeout] [{"timeout": ms, "args": [...]}]
// A relative script path is taken from the master's working directory; the script must exist
// and be executable. A timeout of 0 (the default) means none; the options object wins over the
// positional timeout. Errors are bad requests naming the bad argument.
Result<TestRun> parse_test_run(const std::vector<nlohmann::json>& args);

// What answers show of a test's output: its last kTailLines lines, at most kTailBytes bytes of
// them (cut at a character), each line escaped as sanitize_text() does (valid UTF-8, no control
// characters; a tab kept), joined by '\n', without trailing blank lines.
inline constexpr std::size_t kTailLines = 20;
inline constexpr std::size_t kTailBytes = 4096;
std::string output_tail(std::string_view output);

bool passed(const TestOutcome& outcome);

// The answer of `test` for `outcome`. Passed:
//   {"test": "/abs/script", "passed": true, "exitStatus": 0, "durationMs": N, "output": "<tail>"}
// Otherwise an error (errc::failed: HTTP 500), one of
//   "test /abs/script: failed (exit 3) after N ms; output:\n<tail>"
//   "test /abs/script: failed (killed by SIGSEGV) after N ms; output:\n<tail>"
//   "test /abs/script: timed out after N ms (killed with its process group); output:\n<tail>"
//   "test /abs/script: could not start: <why>"
// where "; output:\n<tail>" is "; last output:\n<tail>" when earlier output was left out, and
// "; no output" when there was none.
Result<nlohmann::json> test_answer(const TestRun& run, const TestOutcome& outcome);

}  // namespace cservice::commands
