#include "app/daemon.hpp"

#include "base/log.hpp"
#include "os/pid_file.hpp"
#include "os/safe_file.hpp"
#include "os/unique_fd.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cservice::app {

std::unique_ptr<Daemon> Daemon::detach(const config::Options& options) {
  auto owned = std::make_unique<Daemon>();
  Daemon& daemon = *owned;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    log::error("daemon: pipe: {}", std::strerror(errno));
    daemon.parent_status_ = 1;
    return owned;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    log::error("daemon: fork: {}", std::strerror(errno));
    daemon.parent_status_ = 1;
    return owned;
  }
  if (pid > 0) {
    ::close(fds[1]);
    std::string message;
    char buffer[512];
    for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      message.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    if (message.starts_with("ok ")) {
      std::printf("cservice: running in the background: %s\n", message.substr(3).c_str());
      daemon.parent_status_ = 0;
    } else {
      log::error("{}", message.empty() ? "the daemon died while starting; see " + options.log_file
                                       : message);
      daemon.parent_status_ = message.empty() ? 1 : 2;
    }
    return owned;
  }
  ::close(fds[0]);
  daemon.report_fd_ = fds[1];
  ::setsid();
  // The pid file first: a second daemon on the same files is refused before it touches the log.
  auto pid_file = os::PidFile::claim(options.pid_file);
  if (!pid_file) daemon.refuse(pid_file.error().message);
  daemon.pid_file_ = std::make_unique<os::PidFile>(std::move(*pid_file));
  auto log_file = os::SafeFile::open("log file", options.log_file, O_WRONLY | O_APPEND,
                                     os::FileKinds::Any);
  if (!log_file) daemon.refuse(log_file.error().message);
  const os::UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ::dup2(null.get(), STDIN_FILENO);
  ::dup2(log_file->fd.get(), STDOUT_FILENO);
  ::dup2(log_file->fd.get(), STDERR_FILENO);
  if (const auto stale = daemon.pid_file_->stale_pid()) {
    log::info("pid file {}: taken over from pid {}, which no longer holds it", options.pid_file,
              to_int(*stale));
  }
  return owned;
}

void Daemon::report(bool ok, const std::string& message) {
  if (report_fd_ < 0) return;
  // A daemon that failed is about to exit: its pid file goes first, so that when the waiting
  // command returns, nothing of this daemon is left.
  if (!ok) pid_file_.reset();
  const std::string text = (ok ? "ok " : "") + message;
  [[maybe_unused]] const ssize_t n = ::write(report_fd_, text.data(), text.size());
  ::close(report_fd_);
  report_fd_ = -1;
}

void Daemon::refuse(const std::string& message) {
  report(false, message);  // which removes the pid file: _exit() runs no destructor
  ::_exit(2);
}

Daemon::~Daemon() {
  if (report_fd_ >= 0) ::close(report_fd_);
}

}  // namespace cservice::app
