#pragma once
// Supervisor is the master's state machine: one slot per worker, each holding at most one
// current process (and, during a rollout, an incoming replacement), moved by events (spawned,
// notify messages, exited, a deadline passed) and operator requests (shutdown, stop, start,
// rollouts). It never blocks, never sleeps and knows no OS: processes come from a Spawner,
// time from a Clock. Every live process, whatever its role, is one Process record with its own
// deadlines (process.hpp). Loop thread only: no locks.
//
// Time is scheduled in one place: after every entry into the supervisor (an event or a request,
// from whatever source: the reaper, the notify socket, a timer, a REST or console command, the
// worker channel, library code), the on_schedule hook runs once, and the runtime re-arms its one
// timer at next_deadline() (or ends the loop once is_finished()). No caller has to remember it.
//
// A slot's current process:
//   state      event                       -> state      action
//   (none)     start / restart due         -> Starting   spawn; workerStart
//   Starting   READY=1 (auto: also silence -> Ready
//              for readyGraceMs; started:
//              at once)
//   Starting   ready timeout               -> Stopping   stop signal; its exit is a failure
//   Starting/  exit                        -> (none)     workerExit(failure); restart after
//   Ready                                                restartDelayMs, unless a crash loop
//   Starting/  shutdown, stop_worker       -> Stopping   stop signal; SIGKILL at stop timeout
//   Ready
//   Stopping   STOPPING=1 then exit        -> (none)     workerExit(failure): it is replaced
//   Stopping   exit                        -> (none)     workerExit(shutdown)
//   Stopping   stop timeout                -> Stopping   SIGKILL
//
// Rollouts (restart all|pid, upgrade; rollout.hpp has their phases): a slot's replacement
// (Incoming) starts beside its current process; only once it is ready is the old process sent
// the stop signal and becomes Retiring, so capacity never drops. An upgrade first watches one
// replacement (the canary) for `monitor` ms after it is ready. A failure after workers were
// replaced rolls them back to their previous program the same way. A rollout answers when every
// old process has exited, so no answer comes from the old program after it. One at a time.
//
// Orphans: a descendant that escaped a worker's process group (setsid, a daemon's double fork)
// is reparented to the master (a child subreaper); the runtime finds it and hands it to
// adopt_orphan() once its worker is gone. It gets the stop signal and SIGKILL at the stop
// timeout, like a worker; shutdown waits for it too.

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "supervisor/event_bus.hpp"
#include "supervisor/policy.hpp"
#include "supervisor/process.hpp"
#include "supervisor/restart_history.hpp"
#include "supervisor/rollout.hpp"
#include "supervisor/types.hpp"

namespace cservice::supervisor {

enum class HealthState { Ok, Degraded, Mixed, CrashLoop, Stopping };
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
  bool removing = false;  // one worker fewer (SIGTTOU): its worker stops, the slot goes with it
  std::string status;  // last STATUS= text
  SpecPtr spec;        // what the slot runs (its next restart too)
  // A rollout's replacement starting (or on trial) beside the slot's process.
  struct Incoming {
    Pid pid{};
    WorkerState state = WorkerState::Starting;
    SpecPtr spec;
  };
  std::optional<Incoming> incoming;
};

class Supervisor {
 public:
  // `spawner`, `clock` and `events` must outlive the Supervisor.
  Supervisor(const Policy& policy, ProgramSpec program, Spawner& spawner, const Clock& clock,
             EventBus& events);

  // Runs after every outermost entry into the supervisor (never from within one), so the
  // runtime can re-arm its timer at next_deadline() and notice is_finished().
  void set_on_schedule(std::function<void()> hook) { on_schedule_ = std::move(hook); }

  // Starts policy.worker_count workers (reason start).
  void start();

  // Notify-socket events, by worker pid. A pid that is not a live worker is ignored.
  void on_ready(Pid pid);
  void on_not_ready(Pid pid);                       // "not ready yet": holds an auto worker
  void on_status(Pid pid, std::string text);        // STATUS=
  void on_extend_timeout(Pid pid, Duration extra);  // EXTEND_TIMEOUT_USEC=
  void on_stopping(Pid pid);                        // STOPPING=1: the worker is leaving by itself

  // A process of ours (worker or adopted orphan) was reaped.
  void on_exited(Pid pid, ExitStatus status);
  // next_deadline() has passed.
  void on_timer();

  // Stops every worker and restarts none; `stop_timeout` (default: the policy's) until
  // SIGKILL. Kill skips the stop signal (the forced second ^C). A rollout under way is
  // cancelled.
  void shutdown(StopMode mode, std::optional<Milliseconds> stop_timeout = std::nullopt);
  bool is_shutting_down() const { return shutting_down_; }
  // Shutting down and no process of ours (worker or orphan) is left.
  bool is_finished() const;
  // Processes of the service (workers, replacements, escaped descendants) killed because they
  // outlived the stop timeout of the shutdown: the service did not stop cleanly.
  std::size_t killed_at_shutdown() const { return killed_at_shutdown_; }

  // Starts a rolling restart or upgrade; `done` runs when it is over (success, or why not).
  // Errors now: busy (another rollout; the message names it), shutting down, unknown pid.
  Result<void> begin_rollout(RolloutRequest request, Completion done);
  // Cancels the rollout under way as a failure (`why`: "cancelled by the operator"): what it
  // replaced is rolled back; its completion gets the failure. not_found when none runs.
  Result<void> cancel_rollout(const std::string& why);
  // Stops the worker `pid` for good (no restart); `done` runs when it has exited.
  Result<void> stop_worker(Pid pid, std::optional<Milliseconds> stop_timeout, Completion done);
  // Starts the slots that have no process (stopped, crash loop), or with `add` > 0 adds that many
  // new slots; with `program`, those run it. Returns the new pids.
  Result<std::vector<Pid>> start_workers(std::size_t add, std::optional<ProgramSpec> program);

  // The master's SIGTTIN and SIGTTOU. add_worker() starts one worker more in a new slot;
  // remove_worker() stops the worker of the last slot (reason shutdown, the stop timeout then
  // SIGKILL) and the slot leaves the table once it has exited: `workers` and `health` count one
  // fewer from now on. Refused while a rollout runs or the service stops (busy), and below one
  // worker (bad_request). Both return the number of workers the service now keeps.
  Result<std::size_t> add_worker();
  Result<std::size_t> remove_worker();
  // The number of slots the service keeps (those being removed not counted).
  std::size_t worker_target() const;

  // Waits for the slot's current process `pid` (still starting, or ready) to be ready: `done`
  // gets {"worker", "pid", "readyMs"} once it is, or an error if it exits or is stopped first.
  // `within` brings its ready deadline forward (never later than readyTimeoutMs); past it, the
  // worker is stopped as one that failed to become ready, and `done` gets a time-out error.
  Result<void> when_ready(Pid pid, std::optional<Milliseconds> within, Completion done);

  // A descendant of worker process `worker` (now gone) was reparented to the master: it gets
  // the stop signal, and SIGKILL at the stop timeout. Ignored if `pid` is already ours.
  void adopt_orphan(Pid pid, std::optional<Pid> worker);

  std::optional<TimePoint> next_deadline() const;
  Health health() const;
  std::vector<WorkerInfo> workers() const;
  // What new workers run: the options' program, or the last completed `upgrade all`.
  const ProgramSpec& program() const { return *current_spec_; }
  // What ran before the last completed `upgrade all` (or `rollback`): what a rollback returns
  // to. Null until one has completed.
  const ProgramSpec* previous_program() const { return previous_spec_.get(); }
  // True if `pid` is one of our worker processes (current, incoming or retiring).
  bool is_worker(Pid pid) const;
  // True if `pid` is a process of ours: a worker or an adopted orphan.
  bool is_known(Pid pid) const { return processes_.contains(pid); }

 private:
  // Runs on_schedule_ when the outermost entry returns.
  class Entry {
   public:
    explicit Entry(Supervisor& s) : s_(s) { ++s_.depth_; }
    ~Entry() {
      if (--s_.depth_ == 0 && s_.on_schedule_) s_.on_schedule_();
    }
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

   private:
    Supervisor& s_;
  };

  struct Slot {
    WorkerId id{};
    SpecPtr spec;  // what its process runs, and its next restart
    std::optional<Pid> current;
    std::optional<Pid> incoming;    // a rollout's replacement
    Reason reason = Reason::Start;  // of the last change
    TimePoint since{};
    std::optional<TimePoint> restart_at;  // no process: the replacement is due then
    RestartHistory history;
    std::uint32_t restarts = 0;
    bool crash_loop = false;
    std::vector<Completion> on_stopped;  // shutdown <pid> answers
    bool removing = false;  // remove_worker(): leaves the table when its process has exited
  };

  Slot& slot_of(const Process& process) { return slots_[to_int(process.slot) - 1]; }
  Slot& slot(WorkerId id) { return slots_[to_int(id) - 1]; }
  Process* find(Pid pid);
  const Process* find(Pid pid) const;
  Process* current_of(Slot& slot);
  Slot& add_slot();
  void drop_removed_slots();  // pops the removed slots without a process at the end
  std::string name_of(const Process& process) const;

  // Slot lifecycle (supervisor.cpp).
  Result<Process*> spawn(Slot& slot, const SpecPtr& spec, Role role, Reason reason);
  Result<void> spawn_current(Slot& slot, Reason reason);
  // add_worker() and remove_worker() are refused (busy) during a rollout or a shutdown.
  Result<void> count_can_change() const;
  void set_state(Process& process, WorkerState state, Reason reason);
  // workerReady: {worker, pid, reason (why it started), readyMs (from its start)}.
  void publish_ready(const Process& process);
  void become_ready(Process& process, std::string_view why);
  // Answers the process's when_ready() callers with `result`.
  void answer_ready_waiters(Process& process, const Result<nlohmann::json>& result);
  void request_stop(Process& process, StopMode mode, Reason reason, Milliseconds timeout);
  void retire(Process& process, Reason reason, Milliseconds timeout, StopMode mode);
  void after_failure(Slot& slot);
  void current_exited(Process process, ExitStatus status);
  void remember_stop_deadline(Pid pid, TimePoint deadline);
  void on_deadline(Pid pid, TimePoint now);

  // Rollouts (supervisor_rollouts.cpp).
  void pump_rollout();
  void start_replacement(Slot& slot);
  void replacement_ready(Process& process, std::string_view why);
  void replacement_failed(const Process& process, const std::string& why);
  void promote(Slot& slot);
  void take_over_on_trial(Slot& slot);
  void monitor_over();
  void end_trial();
  void bake_over();
  std::size_t batch_for(std::size_t n, std::optional<std::size_t> asked) const;
  void enter_stage(RolloutStage stage);
  void report_progress();
  void stop_gate_and_timers(Rollout& r);
  void replaced_worker_exited(const Process& process, ExitStatus status);
  void rollout_failed(const std::string& why);
  void abandon_rollout(const std::string& why);
  void finish_rollout_if_done();

  Policy policy_;
  SpecPtr current_spec_;
  SpecPtr previous_spec_;
  Spawner& spawner_;
  const Clock& clock_;
  EventBus& events_;
  std::deque<Slot> slots_;            // a deque: adding a slot keeps references valid
  std::map<Pid, Process> processes_;  // every live process of ours, whatever its role
  std::optional<Rollout> rollout_;
  std::uint64_t rollout_serial_ = 0;
  std::optional<Milliseconds> shutdown_timeout_;
  std::optional<TimePoint> shutdown_deadline_;  // SIGKILL for everything left then
  // The SIGKILL deadlines of worker processes that exited while being stopped, by pid: their
  // escaped descendants, adopted later, get no more time than they had.
  std::map<Pid, TimePoint> stop_deadlines_;
  bool shutting_down_ = false;
  std::size_t killed_at_shutdown_ = 0;
  std::function<void()> on_schedule_;
  int depth_ = 0;
};

}  // namespace cservice::supervisor
