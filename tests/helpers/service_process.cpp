#include "service_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <regex>

extern "C" {
#include <sys/pidfd.h>
}
extern char** environ;

namespace cservice::testing {
namespace {

std::function<void(const std::string&)>& failure_reporter() {
  static std::function<void(const std::string&)> reporter = [](const std::string& message) {
    std::fprintf(stderr, "error: %s\n", message.c_str());
  };
  return reporter;
}

void report_failure(const std::string& message) { failure_reporter()(message); }

}  // namespace

void set_failure_reporter(std::function<void(const std::string&)> reporter) {
  failure_reporter() = std::move(reporter);
}

std::string cservice_binary() { return CSERVICE_BINARY; }
std::string test_worker_binary() { return TEST_WORKER_BINARY; }
std::string hello_worker_binary() { return HELLO_WORKER_BINARY; }
std::string examples_dir() { return EXAMPLES_DIR; }
std::string library_service_binary() { return LIBRARY_SERVICE_BINARY; }
std::string library_test_service_binary() { return LIBRARY_TEST_SERVICE_BINARY; }
std::string original_master_binary() { return ORIGINAL_MASTER_BINARY; }

ServiceProcess::ServiceProcess(std::vector<std::string> args,
                               std::map<std::string, std::string> env, std::string cwd, Stdin input,
                               Output output)
    : ServiceProcess(Program{cservice_binary()}, std::move(args), std::move(env), std::move(cwd),
                     input, output) {}

ServiceProcess::ServiceProcess(const Program& program, std::vector<std::string> args,
                               std::map<std::string, std::string> env)
    : ServiceProcess(program, std::move(args), std::move(env), {}, Stdin::Null, Output::Read) {}

ServiceProcess::ServiceProcess(const Program& program, std::vector<std::string> args,
                               std::map<std::string, std::string> env, std::string cwd, Stdin input,
                               Output output) {
  args.insert(args.begin(), program.path);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    report_failure(std::string("pipe: ") + std::strerror(errno));
    return;
  }
  int held[2] = {-1, -1};
  if ((output == Output::HeldStdout || output == Output::HeldAll) &&
      ::pipe2(held, O_CLOEXEC) != 0) {
    report_failure(std::string("pipe: ") + std::strerror(errno));
    return;
  }
  int child_stdin = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (input == Stdin::Pipe) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) == 0) {
      ::close(child_stdin);
      child_stdin = in[0];
      stdin_fd_ = in[1];
    }
  } else if (input == Stdin::Terminal) {
    int controller = -1;
    int terminal = -1;
    if (::openpty(&controller, &terminal, nullptr, nullptr, nullptr) == 0) {
      ::fcntl(controller, F_SETFD, FD_CLOEXEC);
      ::fcntl(terminal, F_SETFD, FD_CLOEXEC);
      ::close(child_stdin);
      child_stdin = terminal;
      stdin_fd_ = controller;
    }
  }
  if (output == Output::Terminal) {
    // The reader reads the terminal's other side: fds[0] becomes it, fds[1] the terminal.
    int controller = stdin_fd_ >= 0 && input == Stdin::Terminal ? ::dup(stdin_fd_) : -1;
    int terminal = input == Stdin::Terminal ? ::dup(child_stdin) : -1;
    if (controller < 0 &&
        ::openpty(&controller, &terminal, nullptr, nullptr, nullptr) != 0) {
      report_failure(std::string("openpty: ") + std::strerror(errno));
      return;
    }
    ::fcntl(controller, F_SETFD, FD_CLOEXEC);
    ::fcntl(terminal, F_SETFD, FD_CLOEXEC);
    termios modes{};
    if (::tcgetattr(terminal, &modes) == 0) {
      modes.c_oflag &= ~static_cast<tcflag_t>(ONLCR);  // "\n" stays "\n"
      ::tcsetattr(terminal, TCSANOW, &modes);
    }
    ::close(fds[0]);
    ::close(fds[1]);
    fds[0] = controller;
    fds[1] = terminal;
  }
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test takes its service with it
    if (::getppid() != parent) ::_exit(1);
    ::dup2(child_stdin, 0);
    ::dup2(output == Output::Read || output == Output::Terminal ? fds[1] : held[1], 1);
    ::dup2(output == Output::HeldAll ? held[1] : fds[1], 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  ::close(child_stdin);
  pidfd_ = ::pidfd_open(pid_, 0);
  if (output == Output::HeldStdout || output == Output::HeldAll) {
    ::close(held[1]);
    held_fd_ = held[0];
    ++open_outputs_;
  }
  if (output == Output::HeldAll) {
    ::close(fds[0]);
  } else {
    ++open_outputs_;
    readers_.emplace_back([this, fd = fds[0]] { read_output(fd, {}); });
  }
}

std::size_t ServiceProcess::held_bytes() const {
  int bytes = 0;
  if (held_fd_ < 0 || ::ioctl(held_fd_, FIONREAD, &bytes) != 0) return 0;
  return static_cast<std::size_t>(bytes);
}

std::size_t ServiceProcess::held_capacity() const {
  const int size = held_fd_ < 0 ? -1 : ::fcntl(held_fd_, F_GETPIPE_SZ);
  return size < 0 ? 0 : static_cast<std::size_t>(size);
}

std::optional<ServiceProcess::Match> ServiceProcess::read_held_until(
    const std::string& pattern, std::chrono::milliseconds timeout, const std::string& what) {
  const std::regex re(pattern);
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      for (; cursor_ < lines_.size(); ++cursor_) {
        std::smatch match;
        if (std::regex_search(lines_[cursor_], match, re)) {
          ++cursor_;
          return Match(match.begin(), match.end());
        }
      }
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd ready{held_fd_, POLLIN, 0};
    if (held_fd_ < 0 || left.count() <= 0 ||
        ::poll(&ready, 1, static_cast<int>(left.count())) <= 0) {
      report_failure("timed out after " + std::to_string(timeout.count()) +
                     " ms reading the held output for " + what + " (/" + pattern + "/)");
      return std::nullopt;
    }
    // One byte at a time: nothing past the line wanted leaves the pipe.
    char byte = 0;
    const ssize_t n = ::read(held_fd_, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      report_failure("the held output ended before " + what);
      return std::nullopt;
    }
    held_partial_ += byte;
    if (byte == '\n') add_lines(held_partial_);
  }
}

void ServiceProcess::release_output() {
  if (held_fd_ < 0) return;
  readers_.emplace_back(
      [this, fd = held_fd_, partial = std::move(held_partial_)] { read_output(fd, partial); });
  held_fd_ = -1;
}

void ServiceProcess::add_lines(std::string& partial) {
  std::size_t start = 0;
  std::vector<std::string> complete;
  for (std::size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    complete.push_back(partial.substr(start, nl - start));
  }
  partial.erase(0, start);
  if (complete.empty()) return;
  std::lock_guard lock(mutex_);
  for (auto& line : complete) {
    lines_.emplace_back(log_message(line));
    raw_lines_.push_back(std::move(line));
  }
  changed_.notify_all();
}

void ServiceProcess::write_stdin(const std::string& text) {
  if (stdin_fd_ >= 0 && ::write(stdin_fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    report_failure("writing to the service's stdin failed");
  }
}

void ServiceProcess::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

ServiceProcess::~ServiceProcess() {
  close_stdin();
  if (held_fd_ >= 0) {
    // Never read: what it holds goes with it.
    ::close(held_fd_);
    held_fd_ = -1;
    std::lock_guard lock(mutex_);
    eof_ = --open_outputs_ == 0;
  }
  if (pid_ > 0 && !exited_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    wait_exit(10s);
  }
  for (auto& reader : readers_) reader.join();
  if (pidfd_ >= 0) ::close(pidfd_);
}

void ServiceProcess::read_output(int fd, std::string partial) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buffer, static_cast<std::size_t>(n));
    add_lines(partial);
  }
  ::close(fd);
  std::lock_guard lock(mutex_);
  if (!partial.empty()) {
    lines_.emplace_back(log_message(partial));
    raw_lines_.push_back(partial);
  }
  eof_ = --open_outputs_ == 0;
  changed_.notify_all();
}

std::optional<ServiceProcess::Match> ServiceProcess::wait_for(const std::string& pattern,
                                                    std::chrono::milliseconds timeout,
                                                    const std::string& what) {
  const std::regex re(pattern);
  std::unique_lock lock(mutex_);
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    for (; cursor_ < lines_.size(); ++cursor_) {
      std::smatch match;
      if (std::regex_search(lines_[cursor_], match, re)) {
        ++cursor_;
        return Match(match.begin(), match.end());  // copied: lines_ may grow meanwhile
      }
    }
    if (eof_ || changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (cursor_ < lines_.size()) continue;
      report_failure("timed out after " + std::to_string(timeout.count()) + " ms waiting for " +
                     what + " (/" + pattern + "/)" + (eof_ ? "; the output ended" : ""));
      return std::nullopt;
    }
  }
}

bool ServiceProcess::wait_for_count(const std::string& pattern, std::size_t wanted,
                                    std::chrono::milliseconds timeout, const std::string& what) {
  const std::regex re(pattern);
  std::unique_lock lock(mutex_);
  const auto deadline = Clock::now() + timeout;
  std::size_t found = 0;
  std::size_t scanned = 0;
  for (;;) {
    for (; scanned < lines_.size(); ++scanned) {
      if (std::regex_search(lines_[scanned], re)) ++found;
    }
    if (found >= wanted) return true;
    if (eof_ || changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (scanned < lines_.size()) continue;
      report_failure("timed out after " + std::to_string(timeout.count()) + " ms waiting for " +
                     what + ": " + std::to_string(found) + " of " + std::to_string(wanted) +
                     " lines match /" + pattern + "/");
      return false;
    }
  }
}

std::size_t ServiceProcess::count(const std::string& pattern) const {
  const std::regex re(pattern);
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& line : lines_) n += std::regex_search(line, re) ? 1 : 0;
  return n;
}

std::vector<std::string> ServiceProcess::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::vector<std::string> ServiceProcess::raw_lines() const {
  std::lock_guard lock(mutex_);
  return raw_lines_;
}

std::string ServiceProcess::output() const {
  std::string all;
  for (const auto& line : raw_lines()) all += line + "\n";
  return all;
}

std::string_view log_message(std::string_view line) {
  // "2026-11-28T16:20:01.123Z info ": 24 characters of time, a blank, a level, a blank.
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ ";
  if (line.size() < kShape.size()) return line;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    const char c = line[i];
    if (kShape[i] == 'd' ? (c < '0' || c > '9') : c != kShape[i]) return line;
  }
  const std::string_view rest = line.substr(kShape.size());
  for (const std::string_view level : {"info ", "warn ", "error "}) {
    if (rest.starts_with(level)) return rest.substr(level.size());
  }
  return line;
}

void ServiceProcess::signal(int sig) const {
  if (!exited_) ::pidfd_send_signal(pidfd_, sig, nullptr, 0);
}

std::optional<int> ServiceProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (exited_) return exit_code_;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED | WNOHANG) == 0 &&
        info.si_pid != 0) {
      exited_ = true;
      exit_code_ = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
      // Its output may still be in the pipe: let the reader get to the end of it.
      std::unique_lock lock(mutex_);
      if (!changed_.wait_until(lock, std::max(deadline, Clock::now() + 1s), [this] { return eof_; })) {
        report_failure("the output of cservice did not end after it exited");
      }
      return exit_code_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    pollfd pfd{pidfd_, POLLIN, 0};
    ::poll(&pfd, 1, 20);
  }
}

int ServiceProcess::listen_port(std::chrono::milliseconds timeout) {
  const auto match = wait_for(R"(listening on .*:(\d+) \(name)", timeout, "the listening port");
  return match ? std::stoi((*match)[1]) : -1;
}

int ServiceProcess::api_port(std::chrono::milliseconds timeout) {
  const auto match = wait_for(R"(control: REST API on https?://.*:(\d+)/cli)", timeout, "the REST API");
  return match ? std::stoi((*match)[1]) : -1;
}

std::vector<pid_t> ServiceProcess::started_pids() const {
  const std::regex re(R"(event workerStart \{"pid":(\d+))");
  std::vector<pid_t> pids;
  for (const auto& line : lines()) {
    std::smatch match;
    if (std::regex_search(line, match, re)) pids.push_back(std::stoi(match[1].str()));
  }
  return pids;
}

bool is_dead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string content;
  std::getline(stat, content);
  const auto paren = content.rfind(')');
  return paren == std::string::npos || paren + 2 >= content.size() || content[paren + 2] == 'Z';
}

}  // namespace cservice::testing
