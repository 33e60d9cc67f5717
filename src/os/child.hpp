#pragma once
// Child owns a started process: its pid, a pidfd (which can never name a recycled pid) and
// whether it has been reaped. Reaping itself happens in one place, the runtime's reaper, which
// calls mark_reaped(). A Child destroyed while its process may still run kills its process
// group and reaps it, so no code path can leak a worker.

#include "base/error.hpp"
#include "base/ids.hpp"
#include "os/unique_fd.hpp"

namespace cservice::os {

class Child {
 public:
  Child(Pid pid, UniqueFd pidfd) noexcept : pid_(pid), pidfd_(std::move(pidfd)) {}
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  ~Child();

  Pid pid() const noexcept { return pid_; }
  // Readable when the process has exited (for the event loop to wait on).
  int pidfd() const noexcept { return pidfd_.get(); }
  bool is_reaped() const noexcept { return reaped_; }
  void mark_reaped() noexcept { reaped_ = true; }

  // Sends `signal` to the child's whole process group. Only while unreaped: a zombie leader
  // holds the group id, so the group cannot have been recycled. Falls back to the pidfd (the
  // leader only) if the group is gone.
  Result<void> signal_group(int signal) const;

 private:
  void kill_and_reap() noexcept;

  Pid pid_;
  UniqueFd pidfd_;
  bool reaped_ = false;
};

}  // namespace cservice::os
