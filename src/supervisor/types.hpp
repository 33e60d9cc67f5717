#pragma once
// The vocabulary of the supervisor: worker states, reasons, exit statuses, and the Spawner
// interface through which the pure state machine asks for processes to start and stop.

#include "base/error.hpp"
#include "base/ids.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cservice::supervisor {

// The answer of a long operation, once it is over.
using Completion = std::function<void(Result<nlohmann::json>)>;

enum class WorkerState { Starting, Ready, Stopping, Exited };

// Why a worker started or exited (the seed's reasons, plus shutdown, recycle and rollback).
enum class Reason { Start, Restart, Failure, Upgrade, Shutdown, Recycle, Rollback };

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

// What a worker runs. The service has a current one (the options' program); an upgrade starts
// workers of a new one and, once it succeeds, makes it current.
struct ProgramSpec {
  std::string program;             // absolute path, every link resolved
  std::vector<std::string> args;
  std::string cwd;                 // empty: the master's; else every link resolved
  // The cwd as the operator named it (`/srv/app/current`), where a link led elsewhere: an
  // upgrade that names no cwd resolves it again, so it follows a re-pointed release link.
  std::string cwd_as_named = {};

  // The same program, args and directory (however the directory was named).
  bool operator==(const ProgramSpec& other) const {
    return program == other.program && args == other.args && cwd == other.cwd;
  }
};
using SpecPtr = std::shared_ptr<const ProgramSpec>;

// Starts and stops worker processes for the Supervisor. The real one is runtime's
// ProcessSpawner; tests use a FakeSpawner that records what it was asked.
class Spawner {
 public:
  virtual ~Spawner() = default;
  // Starts `spec` for slot `id`. An error means no process exists (exec failed).
  virtual Result<Pid> start(WorkerId id, const ProgramSpec& spec) = 0;
  // Graceful: the stop signal to the worker's process group; Kill: SIGKILL to it.
  virtual void stop(WorkerId id, Pid pid, StopMode mode) = 0;
};

}  // namespace cservice::supervisor
