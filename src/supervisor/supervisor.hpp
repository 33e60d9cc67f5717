#pragma once
// Supervisor is the master's state machine: one slot per worker, each in a WorkerState, moved by
// events (spawned, ready, exited, a deadline passed) and operator requests (shutdown). It never
// blocks, never sleeps and knows no OS: processes come from a Spawner, time from a Clock, and it
// says when it next needs to wake through next_deadline(). runtime/ owns the one timer and calls
// on_timer() when that deadline has passed. Touched only from the master's loop: no locks.
//
//   state      event                      -> state      action
//   Exited     restart due / start        -> Starting   spawn; workerStart
//   Starting   READY=1 (or grace, started)-> Ready
//   Starting   ready timeout              -> Stopping   stop signal; exit counts as failure
//   Starting/  exit                       -> Exited     workerExit(failure); restart after
//   Ready                                               restartDelayMs unless a crash loop
//   any live   shutdown                   -> Stopping   stop signal; SIGKILL at stop timeout
//   Stopping   exit                       -> Exited     workerExit(shutdown), or failure

#include "base/clock.hpp"
#include "supervisor/event_bus.hpp"
#include "supervisor/policy.hpp"
#include "supervisor/restart_history.hpp"
#include "supervisor/types.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cservice::supervisor {

enum class HealthState { Ok, Degraded, CrashLoop, Stopping };
const char* to_string(HealthState state);

struct Health {
  HealthState state = HealthState::Ok;
  std::string reason;  // empty when Ok
};

// A read-only view of one slot, for commands and tests.
struct WorkerInfo {
  WorkerId id{};
  std::optional<Pid> pid;
  WorkerState state = WorkerState::Exited;
  Reason reason = Reason::Start;  // of the last start or exit
  TimePoint since{};              // when it entered `state`
  std::uint32_t restarts = 0;     // over the slot's whole life
  bool crash_loop = false;
  std::string status;             // last STATUS= text
};

class Supervisor {
 public:
  // `spawner`, `clock` and `events` must outlive the Supervisor.
  Supervisor(const Policy& policy, Spawner& spawner, const Clock& clock, EventBus& events);

  // Starts policy.worker_count workers (reason start).
  void start();

  // Notify-socket events, by sender pid. A pid that is not a live worker is ignored.
  void on_ready(Pid pid);
  void on_not_ready(Pid pid);                  // "not ready yet": holds an auto-mode worker
  void on_status(Pid pid, std::string text);   // STATUS=
  void on_extend_timeout(Pid pid, Duration extra);  // EXTEND_TIMEOUT_USEC=
  void on_stopping(Pid pid);                   // STOPPING=1: the worker is leaving by itself

  // A worker process was reaped.
  void on_exited(Pid pid, ExitStatus status);
  // next_deadline() has passed.
  void on_timer();

  // Stops every worker and restarts none. Kill skips the stop signal (the forced second ^C).
  void shutdown(StopMode mode);
  bool is_shutting_down() const { return shutting_down_; }
  // Shutting down and no worker process is left.
  bool is_finished() const;

  std::optional<TimePoint> next_deadline() const;
  Health health() const;
  std::vector<WorkerInfo> workers() const;
  // True if `pid` is a live worker (notify messages from anyone else are ignored).
  bool is_worker(Pid pid) const { return find(pid) != nullptr; }

 private:
  struct Slot {
    WorkerInfo info;
    std::optional<TimePoint> ready_deadline;  // Starting: the ready timeout
    std::optional<TimePoint> grace_deadline;  // Starting, auto mode, nothing heard yet
    std::optional<TimePoint> kill_deadline;   // Stopping: SIGKILL then
    std::optional<TimePoint> restart_at;      // Exited: the replacement is due
    bool exit_expected = false;               // we asked it to stop (not a failure)
    Reason stop_reason = Reason::Shutdown;
    RestartHistory history;
  };

  Slot* find(Pid pid);
  const Slot* find(Pid pid) const;
  void spawn(Slot& slot, Reason reason);
  void become_ready(Slot& slot, std::string_view why);
  void request_stop(Slot& slot, StopMode mode, bool expected, Reason reason);
  void after_failure(Slot& slot);
  void set_state(Slot& slot, WorkerState state, Reason reason);

  Policy policy_;
  Spawner& spawner_;
  const Clock& clock_;
  EventBus& events_;
  std::vector<Slot> slots_;
  bool shutting_down_ = false;
};

}  // namespace cservice::supervisor
