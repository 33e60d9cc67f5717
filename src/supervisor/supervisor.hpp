#pragma once
// Supervisor is the master's state machine: one slot per worker, each in a WorkerState, moved by
// events (spawned, ready, exited, a deadline passed) and operator requests (shutdown, rollouts).
// It never blocks, never sleeps and knows no OS: processes come from a Spawner, time from a
// Clock, and it says when it next needs to wake through next_deadline(). runtime/ owns the one
// timer and calls on_timer() when that deadline has passed. Loop thread only: no locks.
//
//   state      event                      -> state      action
//   Exited     restart due / start        -> Starting   spawn; workerStart
//   Starting   READY=1 (or grace, started)-> Ready
//   Starting   ready timeout              -> Stopping   stop signal; exit counts as failure
//   Starting/  exit                       -> Exited     workerExit(failure); restart after
//   Ready                                               restartDelayMs unless a crash loop
//   any live   shutdown                   -> Stopping   stop signal; SIGKILL at stop timeout
//   Stopping   exit                       -> Exited     workerExit(shutdown), or failure
//
// Rollouts (restart all, upgrade): a slot's replacement ("incoming") starts beside its current
// process; only once the replacement is ready is the old process sent the stop signal (it then
// "retires"), so capacity never drops. Slots are replaced 1 + floor(n * ratio) at a time. An
// upgrade first starts one replacement and watches it for upgrade_monitor after it is ready;
// if it fails, the upgrade is cancelled and the old workers keep serving. A rollout is done
// when every old worker has exited, so no answer comes from the old program after it.
// One rollout at a time.

#include "base/clock.hpp"
#include "supervisor/event_bus.hpp"
#include "supervisor/policy.hpp"
#include "supervisor/restart_history.hpp"
#include "supervisor/types.hpp"

#include <deque>
#include <functional>
#include <optional>
#include <set>
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
  TimePoint started{};            // when its current process started
  std::uint32_t restarts = 0;     // over the slot's whole life
  bool crash_loop = false;
  std::string status;             // last STATUS= text
  std::string program;            // what the slot runs
};

// The answer of a long operation, once it is over.
using Completion = std::function<void(Result<nlohmann::json>)>;

struct RolloutRequest {
  Reason reason = Reason::Restart;          // Restart or Upgrade
  std::optional<Pid> only;                  // one worker, by pid; nullopt: all
  std::optional<ProgramSpec> program;       // Upgrade: the new program
  std::optional<Milliseconds> stop_timeout; // for the old workers; default: the policy's
  std::optional<Milliseconds> monitor;      // Upgrade: default: the policy's upgrade_monitor
  std::string description;                  // "restart all", for messages
};

// Workers replaced at a time in a rollout of `n` workers.
std::size_t rollout_batch_size(std::size_t n, double ratio);

class Supervisor {
 public:
  // `spawner`, `clock` and `events` must outlive the Supervisor.
  Supervisor(const Policy& policy, ProgramSpec program, Spawner& spawner, const Clock& clock,
             EventBus& events);

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
  // A rollout under way is cancelled.
  void shutdown(StopMode mode);
  bool is_shutting_down() const { return shutting_down_; }
  // Shutting down and no worker process is left.
  bool is_finished() const;

  // Starts a rolling restart or upgrade; `done` runs when it is over (success, or why not).
  // Errors now: busy (another rollout; the message names it), shutting down, unknown pid.
  Result<void> begin_rollout(RolloutRequest request, Completion done);
  // Stops the worker `pid` for good (no restart); `done` runs when it has exited.
  Result<void> stop_worker(Pid pid, std::optional<Milliseconds> stop_timeout, Completion done);
  // Starts the slots that have no process (stopped, crash loop), or with `add` > 0 adds that many
  // new slots; with `program`, those run it. Returns the new pids.
  Result<std::vector<Pid>> start_workers(std::size_t add, std::optional<ProgramSpec> program);

  std::optional<TimePoint> next_deadline() const;
  Health health() const;
  std::vector<WorkerInfo> workers() const;
  const ProgramSpec& program() const { return *current_spec_; }
  // True if `pid` is one of our processes (notify messages from anyone else are ignored).
  bool is_worker(Pid pid) const;

 private:
  // A replacement starting beside a slot's current process, during a rollout.
  struct Incoming {
    Pid pid{};
    TimePoint started{};
    std::optional<TimePoint> ready_deadline;
    std::optional<TimePoint> grace_deadline;
    bool ready = false;
    std::string status;
  };
  // A process that was replaced (or a failed replacement) and has been told to stop.
  struct Retiring {
    WorkerId id{};
    Pid pid{};
    Reason reason = Reason::Restart;
    std::optional<TimePoint> kill_deadline;
  };
  struct Slot {
    WorkerInfo info;
    SpecPtr spec;
    std::optional<TimePoint> ready_deadline;  // Starting: the ready timeout
    std::optional<TimePoint> grace_deadline;  // Starting, auto mode, nothing heard yet
    std::optional<TimePoint> kill_deadline;   // Stopping: SIGKILL then
    std::optional<TimePoint> restart_at;      // Exited: the replacement is due
    bool exit_expected = false;               // we asked it to stop (not a failure)
    Reason stop_reason = Reason::Shutdown;
    RestartHistory history;
    std::optional<Incoming> incoming;
    std::vector<Completion> on_stopped;       // shutdown <pid> answers
  };
  struct Rollout {
    RolloutRequest request;
    SpecPtr spec;
    std::deque<WorkerId> pending;
    std::set<WorkerId> active;                // replacements started, not yet in place
    std::set<Pid> retiring;                   // old processes told to stop, not yet exited
    std::size_t batch = 1;
    Milliseconds stop_timeout{};
    Milliseconds monitor{};
    bool canary_phase = false;                // Upgrade: the first replacement is on trial
    std::optional<TimePoint> monitor_until;
    nlohmann::json replaced = nlohmann::json::array();
    Completion done;
  };

  Slot* find(Pid pid);
  const Slot* find(Pid pid) const;
  Slot* find_incoming(Pid pid);
  void spawn(Slot& slot, Reason reason);
  void become_ready(Slot& slot, std::string_view why);
  void request_stop(Slot& slot, StopMode mode, bool expected, Reason reason);
  void after_failure(Slot& slot);
  void set_state(Slot& slot, WorkerState state, Reason reason);
  Slot& add_slot();

  // Rollouts.
  void pump_rollout();
  void spawn_incoming(Slot& slot);
  void incoming_ready(Slot& slot, std::string_view why);
  void promote(Slot& slot);
  void retire(WorkerId id, Pid pid, Reason reason, Milliseconds stop_timeout, StopMode mode);
  void fail_rollout(const std::string& why);
  void finish_rollout_if_done();

  Policy policy_;
  SpecPtr current_spec_;
  Spawner& spawner_;
  const Clock& clock_;
  EventBus& events_;
  std::deque<Slot> slots_;  // a deque: adding a slot keeps references to the others valid
  std::vector<Retiring> retiring_;
  std::optional<Rollout> rollout_;
  bool shutting_down_ = false;
};

}  // namespace cservice::supervisor
