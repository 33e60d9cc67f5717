#include "app/daemon.hpp"

#include "base/log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
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
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int log_fd = ::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    daemon.report(false, "daemon: log file " + options.log_file + ": " + std::strerror(errno));
    ::_exit(2);
  }
  ::dup2(null_fd, STDIN_FILENO);
  ::dup2(log_fd, STDOUT_FILENO);
  ::dup2(log_fd, STDERR_FILENO);
  ::close(null_fd);
  ::close(log_fd);
  std::ofstream(options.pid_file) << ::getpid() << "\n";
  daemon.pid_file_ = options.pid_file;
  return owned;
}

void Daemon::report(bool ok, const std::string& message) {
  if (report_fd_ < 0) return;
  const std::string text = (ok ? "ok " : "") + message;
  [[maybe_unused]] const ssize_t n = ::write(report_fd_, text.data(), text.size());
  ::close(report_fd_);
  report_fd_ = -1;
}

Daemon::~Daemon() {
  if (report_fd_ >= 0) ::close(report_fd_);
  if (!pid_file_.empty()) ::unlink(pid_file_.c_str());
}

}  // namespace cservice::app
