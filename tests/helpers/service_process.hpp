#pragma once
// ServiceProcess runs the real cservice binary for an integration test or a benchmark: its
// stdout and stderr go into one pipe, read by a thread into a list of lines the caller can wait
// on. The process is killed (with its whole group) and reaped when the object goes away.
// With Output::HeldStdout or HeldAll, stdout (and stderr) go into a pipe the test holds but does
// not read until release_output(), as a stalled log collector would.
// No test framework here: failures go to the reporter (the tests' fixture makes it a gtest
// failure; the default prints to stderr).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace cservice::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

void set_failure_reporter(std::function<void(const std::string&)> reporter);

// Paths of the binaries under test (set by CMake).
std::string cservice_binary();
std::string test_worker_binary();
std::string hello_worker_binary();
std::string examples_dir();
std::string library_service_binary();
std::string library_test_service_binary();
std::string original_master_binary();  // a stand-in for the original's REST API

// A program other than cservice for ServiceProcess to run (a library-mode service).
struct Program {
  std::string path;
};

class ServiceProcess {
 public:
  // What the process gets as stdin: /dev/null, a pipe, or a terminal (a pty) the test writes to.
  enum class Stdin { Null, Pipe, Terminal };
  // Where stdout and stderr go: both into the pipe read at once (Read); stdout into a held pipe
  // and stderr read (HeldStdout); both into the held pipe (HeldAll); both onto a terminal (a
  // pty, the same one as stdin's with Stdin::Terminal) whose lines are read at once, without
  // the terminal's "\r" before each "\n" (Terminal).
  enum class Output { Read, HeldStdout, HeldAll, Terminal };

  // Starts `cservice args...` in `cwd` (empty: the test's), with `env` added.
  explicit ServiceProcess(std::vector<std::string> args,
                          std::map<std::string, std::string> env = {}, std::string cwd = {},
                          Stdin input = Stdin::Null, Output output = Output::Read);
  // Starts `program args...` instead.
  ServiceProcess(const Program& program, std::vector<std::string> args,
                 std::map<std::string, std::string> env = {});
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Writes to its stdin (Pipe or Terminal); close_stdin() sends end of file.
  void write_stdin(const std::string& text);
  void close_stdin();

  // Waits until an output line after the cursor matches `pattern`; moves the cursor past it and
  // returns the match and its groups ([0] is the whole match). Fails the test (and returns
  // nullopt) after `timeout`, naming `what`.
  using Match = std::vector<std::string>;
  std::optional<Match> wait_for(const std::string& pattern, std::chrono::milliseconds timeout,
                                      const std::string& what);
  // Waits until `count` lines (anywhere in the output) match `pattern`.
  bool wait_for_count(const std::string& pattern, std::size_t count,
                      std::chrono::milliseconds timeout, const std::string& what);
  std::size_t count(const std::string& pattern) const;
  // Lines are matched and returned as messages: the time and level that start the service's
  // text log lines ("2026-11-28T16:20:01.123Z info ") are left out (log_message()).
  std::vector<std::string> lines() const;
  // The lines as the process wrote them.
  std::vector<std::string> raw_lines() const;
  std::string output() const;  // every line as written, for failure messages

  // The held pipe (Output::Held*), before release_output(): bytes waiting in it and its size.
  std::size_t held_bytes() const;
  std::size_t held_capacity() const;
  // Reads the held pipe here, a byte at a time, until a line matches `pattern` (as wait_for),
  // and no further; nullopt (and a failure) after `timeout`.
  std::optional<Match> read_held_until(const std::string& pattern,
                                       std::chrono::milliseconds timeout, const std::string& what);
  // Starts reading the held pipe like the other output.
  void release_output();

  void signal(int signal) const;
  // Waits for the process to exit and its output to end; its exit code (128+n for signal n),
  // or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool has_exited() const { return exited_; }

  // The port of the first "listening on HOST:PORT" line.
  int listen_port(std::chrono::milliseconds timeout = 5s);
  // The port of the REST API, from its "control: REST API on http://HOST:PORT/cli" line.
  int api_port(std::chrono::milliseconds timeout = 10s);
  // The pids of workers reported ready (from the event log), in order.
  std::vector<pid_t> started_pids() const;

 private:
  ServiceProcess(const Program& program, std::vector<std::string> args,
                 std::map<std::string, std::string> env, std::string cwd, Stdin input,
                 Output output);
  void read_output(int fd, std::string partial);
  // Appends the complete lines at the start of `partial` to lines_, leaving the rest there.
  void add_lines(std::string& partial);

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int pidfd_ = -1;
  bool exited_ = false;
  int exit_code_ = 0;
  std::vector<std::thread> readers_;
  int held_fd_ = -1;          // read end of the held pipe, until release_output()
  std::string held_partial_;  // what read_held_until() read past its last whole line
  int open_outputs_ = 0;      // pipes not yet at end of file
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;      // log_message() of each line
  std::vector<std::string> raw_lines_;  // as written
  bool eof_ = false;
  std::size_t cursor_ = 0;
};

// `line` without the time and level a text log line starts with (base/log.hpp's Format::Text),
// so that tests match what was said, whatever the stamp; other lines as they are.
std::string_view log_message(std::string_view line);

// True if `pid` is gone or a zombie (dead, not yet reaped).
bool is_dead(pid_t pid);

// Polls `predicate` every few ms until it holds or `timeout` passes. For conditions that have
// no event to wait on.
template <class Predicate>
bool wait_until(Predicate predicate, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!predicate()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

}  // namespace cservice::testing
