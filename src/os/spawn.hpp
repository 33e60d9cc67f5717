#pragma once
// spawn(): the only process creation in the project (clone with CLONE_VFORK, as posix_spawn
// does). The child gets its own process group, a parent-death signal, default signal
// dispositions and an empty mask, the given stdio, the passed sockets at fd 3 and up, and
// nothing else; then it execs. An exec failure comes back here as an Error
// (through a close-on-exec pipe), never later as exit status 127.

#include "base/error.hpp"
#include "os/child.hpp"

#include <string>
#include <vector>

namespace cservice::os {

// The most descriptors a child can be passed (fd 3 up to 3 + kMaxPassedFds - 1).
inline constexpr std::size_t kMaxPassedFds = 64;

struct SpawnSpec {
  std::string program;                 // path of the executable, as given to execve
  std::vector<std::string> args;       // argv[1...]; argv[0] is `program`
  std::vector<std::string> env;        // the whole environment, "KEY=value"
  std::string cwd;                     // empty: the master's
  std::vector<int> passed_fds;         // borrowed; become fd 3, 4, ...; kMaxPassedFds at most
  // Variables added to env as NAME=<the child's own pid> (LISTEN_PID, CSERVICE_WORKER_PID).
  std::vector<std::string> pid_variables;
  int stdin_fd = -1;                   // borrowed; -1 means /dev/null
  int stdout_fd = -1;
  int stderr_fd = -1;
};

Result<Child> spawn(const SpawnSpec& spec);

// Raises this process's soft RLIMIT_NOFILE to its hard limit (a master of a thousand workers
// needs a few thousand fds). Processes spawned afterwards get the soft limit back that this
// process started with, as systemd does: programs using select() break above 1024.
// Call before the first spawn(), from the loop thread.
Result<void> raise_open_file_limit();

}  // namespace cservice::os
