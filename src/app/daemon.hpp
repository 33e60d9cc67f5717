#pragma once
// Daemon mode (`cserviced`, or --daemon): the service detaches from the terminal into a session
// of its own; its output and its workers' go to the log file (appended, never discarded) and its
// pid to the pid file. The command that started it waits until the service is up, or has
// failed, and says which: so `cserviced ...; echo $?` tells the truth.
//
// Both files are opened as os::SafeFile (no symbolic link followed, no hard-linked file, no
// directory others may replace them in). The pid file is locked while the daemon runs
// (os::PidFile): a second daemon with the same pid file is refused, "another cservice (pid N)
// holds FILE", and one left by a daemon that died is taken over.

#include "config/options.hpp"
#include "os/pid_file.hpp"

#include <memory>
#include <string>

namespace cservice::app {

class Daemon {
 public:
  // Forks. In the original process this waits for the outcome and returns its exit status
  // (is_parent() true). In the daemon it sets up the session, output and pid file.
  static std::unique_ptr<Daemon> detach(const config::Options& options);
  Daemon() = default;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon();  // the daemon removes its pid file (and releases its lock)

  bool is_parent() const { return parent_status_ >= 0; }
  int parent_status() const { return parent_status_; }
  // In the daemon: tells the waiting command the service is up (or why not: then the pid file
  // is removed first).
  void report(bool ok, const std::string& message);

 private:
  // In the daemon, before it serves: tells the waiting command why not, and exits 2.
  [[noreturn]] void refuse(const std::string& message);

  int parent_status_ = -1;
  int report_fd_ = -1;
  std::unique_ptr<os::PidFile> pid_file_;  // in the daemon
};

}  // namespace cservice::app
