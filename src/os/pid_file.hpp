#pragma once
// PidFile is a daemon's claim on its pid file: the file, opened as a SafeFile and locked
// (flock, exclusive) for as long as the object lives, holding the pid of the process that
// claimed it. The lock is what tells a living daemon from a dead one: the kernel drops it when
// the holder exits however it exits, so a pid file left by a daemon that was killed is taken
// over, and one whose daemon runs is refused, without guessing from a pid that may have been
// recycled.
//
// The descriptor is close-on-exec, so a worker started by the daemon never holds the lock.

#include <optional>
#include <string>

#include "base/error.hpp"
#include "base/ids.hpp"
#include "os/safe_file.hpp"

namespace cservice::os {

class PidFile {
 public:
  // Opens `path` (SafeFile: no symbolic link, no hard link, no directory others may write to),
  // locks it and writes this process's pid into it. Held by another process: errc::busy,
  // "another cservice (pid N) holds PATH", and the file is left as it was.
  static Result<PidFile> claim(const std::string& path);

  PidFile(PidFile&&) noexcept = default;
  PidFile& operator=(PidFile&&) = delete;
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;
  // Removes the file if it is still this one, then releases the lock.
  ~PidFile();

  const std::string& path() const { return file_.path; }
  // The pid the file held when it was claimed, if any: that of a daemon that died.
  std::optional<Pid> stale_pid() const { return stale_pid_; }

 private:
  PidFile(SafeFile file, std::optional<Pid> stale_pid)
      : file_(std::move(file)), stale_pid_(stale_pid) {}

  SafeFile file_;
  std::optional<Pid> stale_pid_;
};

}  // namespace cservice::os
