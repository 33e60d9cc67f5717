#include "os/child.hpp"

#include "os/pidfd.hpp"

#include <cerrno>
#include <csignal>
#include <fmt/format.h>
#include <sys/wait.h>

namespace cservice::os {

Child::Child(Child&& other) noexcept
    : pid_(other.pid_), pidfd_(std::move(other.pidfd_)), reaped_(other.reaped_) {
  other.reaped_ = true;
}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = other.pid_;
    pidfd_ = std::move(other.pidfd_);
    reaped_ = other.reaped_;
    other.reaped_ = true;
  }
  return *this;
}

Child::~Child() { kill_and_reap(); }

void Child::kill_and_reap() noexcept {
  if (reaped_ || !pidfd_) return;
  ::kill(-to_int(pid_), SIGKILL);
  ::pidfd_send_signal(pidfd_.get(), SIGKILL, nullptr, 0);
  siginfo_t info{};
  while (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED) < 0 &&
         errno == EINTR) {
  }
  reaped_ = true;
}

Result<void> Child::signal_group(int signal) const {
  if (reaped_) return os_error(fmt::format("signal pid {}", to_int(pid_)), ESRCH);
  if (::kill(-to_int(pid_), signal) == 0) return {};
  // The worker may have left its process group (setsid); reach the leader through the pidfd.
  if (::pidfd_send_signal(pidfd_.get(), signal, nullptr, 0) == 0) return {};
  return os_error(fmt::format("signal pid {}", to_int(pid_)), errno);
}

}  // namespace cservice::os
