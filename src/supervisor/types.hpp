#pragma once
// The vocabulary of the supervisor: worker states, reasons, exit statuses, and the Spawner
// interface through which the pure state machine asks for processes to start and stop.

#include "base/error.hpp"
#include "base/ids.hpp"

#include <string>

namespace cservice::supervisor {

enum class WorkerState { Starting, Ready, Stopping, Exited };

// Why a worker started or exited (the seed's reasons, plus shutdown and recycle).
enum class Reason { Start, Restart, Failure, Upgrade, Shutdown, Recycle };

const char* to_string(WorkerState state);
const char* to_string(Reason reason);

// How a process ended, as waitid reports it.
struct ExitStatus {
  bool signaled = false;
  int value = 0;  // exit code, or signal number when `signaled`

  static ExitStatus exited(int code) { return {false, code}; }
  static ExitStatus killed(int signal) { return {true, signal}; }
  std::string describe() const;  // "exit 1", "killed by SIGKILL"
};

enum class StopMode { Graceful, Kill };

// Starts and stops worker processes for the Supervisor. The real one is runtime's
// ProcessSpawner; tests use a FakeSpawner that records what it was asked.
class Spawner {
 public:
  virtual ~Spawner() = default;
  // Starts the program for slot `id`. An error means no process exists (exec failed).
  virtual Result<Pid> start(WorkerId id) = 0;
  // Graceful: the stop signal to the worker's process group; Kill: SIGKILL to it.
  virtual void stop(WorkerId id, Pid pid, StopMode mode) = 0;
};

}  // namespace cservice::supervisor
