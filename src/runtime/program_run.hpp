#pragma once
// ProgramRun runs one short-lived program to completion on the master's loop, for the commands
// of a commands directory and the `test` command: it captures stdout and stderr (up to a limit),
// kills the program's whole process group when the time-out runs out, and reports once, after
// the program has exited and its pipes are closed (or, once it has exited, when the time-out has
// run out, or kDrainAfterExit has passed for a run without one: a grandchild that escaped the
// group cannot hold the answer back).
//
// It does not reap: the runtime's reaper does, and hands the exit status to on_exited().
// Loop thread only.

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "os/child.hpp"
#include "supervisor/types.hpp"

namespace cservice::runtime {

// How a run keeps its output.
enum class Capture {
  // stdout and stderr apart, the first kMaxOutput bytes of each: a command's answer is its head.
  Separate,
  // Both into one pipe, in the order written (as 2>&1), the last kMaxOutput bytes: a test's
  // log, whose end says why it failed.
  MergedTail,
};

struct RunSpec {
  std::string program;            // absolute path
  std::vector<std::string> args;  // argv[1...]
  std::vector<std::string> env;   // the whole environment, "KEY=value"
  std::optional<Milliseconds> timeout = Milliseconds(30000);  // nullopt: none
  Capture capture = Capture::Separate;
};

struct ProgramResult {
  std::optional<supervisor::ExitStatus> status;  // nullopt: it could not be started
  bool timed_out = false;                        // killed when the time-out ran out
  std::string out;    // stdout (at most kMaxOutput bytes); with MergedTail, stdout and stderr
  std::string err;    // stderr (at most kMaxOutput bytes); empty with MergedTail
  bool truncated = false;                        // more output than that was dropped
  std::string start_error;                       // why it could not be started
};

// Every program run and its descendants get CSERVICE_PROGRAM_PID=<the program's pid>: a
// descendant that left its process group and outlives the program is found by it (runtime.hpp).
inline constexpr std::string_view kProgramPidVariable = "CSERVICE_PROGRAM_PID";

class ProgramRun : public std::enable_shared_from_this<ProgramRun> {
 public:
  using Done = std::function<void(ProgramResult)>;
  static constexpr std::size_t kMaxOutput = 1024 * 1024;
  // Without a time-out, how long pipes still held open after the program's exit are waited for.
  static constexpr Milliseconds kDrainAfterExit{1000};

  // Starts `spec`; `done` runs exactly once, on the loop (also when the start fails).
  static std::shared_ptr<ProgramRun> start(boost::asio::io_context& io, const RunSpec& spec,
                                           Done done);

  Pid pid() const { return child_ ? child_->pid() : Pid{0}; }
  bool is_running() const { return child_.has_value(); }
  // The reaper saw the program exit with `status` (after killing what was left in its group).
  void on_exited(supervisor::ExitStatus status);
  // Kills the program's process group now (the service is stopping); it reports as usual, with
  // the exit status the kill gave it, once the reaper has seen it go.
  void cancel();

 private:
  ProgramRun(boost::asio::io_context& io, Done done, Capture capture);
  void read(std::size_t index);
  void keep(std::string& text, const char* data, std::size_t n);
  void arm_timer(Milliseconds after);
  void on_timeout();
  void finish_if_done();

  struct Pipe {
    std::unique_ptr<boost::asio::posix::stream_descriptor> stream;
    std::array<char, 16 * 1024> buffer{};
    bool open = false;
  };

  Done done_;
  Capture capture_;
  std::optional<os::Child> child_;
  std::array<Pipe, 2> pipes_;
  boost::asio::steady_timer timer_;
  ProgramResult result_;
  bool exited_ = false;
  bool timer_armed_ = false;
};

}  // namespace cservice::runtime
