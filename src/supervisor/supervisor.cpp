#include "supervisor/supervisor.hpp"

#include "base/check.hpp"
#include "base/log.hpp"

#include <algorithm>
#include <chrono>

namespace cservice::supervisor {
namespace {

long long ms(Duration d) { return std::chrono::duration_cast<Milliseconds>(d).count(); }

void earliest(std::optional<TimePoint>& best, const std::optional<TimePoint>& candidate) {
  if (candidate && (!best || *candidate < *best)) best = candidate;
}

nlohmann::json exit_event(const Process& p, Reason reason, const ExitStatus& status) {
  return {{"worker", to_int(p.slot)}, {"pid", to_int(p.pid)}, {"reason", to_string(reason)},
          {"status", status.describe()}};
}

}  // namespace

const char* to_string(HealthState state) {
  switch (state) {
    case HealthState::Ok: return "ok";
    case HealthState::Degraded: return "degraded";
    case HealthState::Mixed: return "mixed";
    case HealthState::CrashLoop: return "crash-loop";
    case HealthState::Stopping: return "stopping";
  }
  return "unknown";
}

const char* to_string(RolloutStage stage) {
  switch (stage) {
    case RolloutStage::Canary: return "canary";
    case RolloutStage::Monitor: return "monitor";
    case RolloutStage::Test: return "test";
    case RolloutStage::Replace: return "replace";
    case RolloutStage::Bake: return "bake";
    case RolloutStage::RollingBack: return "rolling-back";
  }
  return "unknown";
}

const char* to_string(Role role) {
  switch (role) {
    case Role::Current: return "current";
    case Role::Incoming: return "incoming";
    case Role::Retiring: return "retiring";
    case Role::Orphan: return "orphan";
  }
  return "unknown";
}

Supervisor::Supervisor(const Policy& policy, ProgramSpec program, Spawner& spawner,
                       const Clock& clock, EventBus& events)
    : policy_(policy),
      current_spec_(std::make_shared<const ProgramSpec>(std::move(program))),
      spawner_(spawner),
      clock_(clock),
      events_(events) {
  for (std::uint32_t i = 0; i < policy_.worker_count; ++i) add_slot();
}

Supervisor::Slot& Supervisor::add_slot() {
  Slot& slot = slots_.emplace_back();
  slot.id = WorkerId{static_cast<std::uint32_t>(slots_.size())};
  slot.since = clock_.now();
  slot.spec = current_spec_;
  return slot;
}

Process* Supervisor::find(Pid pid) {
  const auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : &it->second;
}

const Process* Supervisor::find(Pid pid) const {
  const auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : &it->second;
}

Process* Supervisor::current_of(Slot& slot) {
  return slot.current ? find(*slot.current) : nullptr;
}

bool Supervisor::is_worker(Pid pid) const {
  const Process* p = find(pid);
  return p != nullptr && p->role != Role::Orphan;
}

std::string Supervisor::name_of(const Process& p) const {
  switch (p.role) {
    case Role::Current: return fmt::format("worker {} pid {}", to_int(p.slot), to_int(p.pid));
    case Role::Incoming:
      return fmt::format("worker {}: replacement pid {}", to_int(p.slot), to_int(p.pid));
    case Role::Retiring:
      return fmt::format("worker {}: replaced pid {}", to_int(p.slot), to_int(p.pid));
    case Role::Orphan: return fmt::format("escaped descendant pid {}", to_int(p.pid));
  }
  return "?";
}

void Supervisor::start() {
  const Entry entry(*this);
  for (auto& slot : slots_) (void)spawn_current(slot, Reason::Start);
}

// ---- Processes --------------------------------------------------------------------------------

Result<Process*> Supervisor::spawn(Slot& slot, const SpecPtr& spec, Role role, Reason reason) {
  auto pid = spawner_.start(slot.id, *spec);
  if (!pid) return pid.error();
  const TimePoint now = clock_.now();
  Process& p = processes_[*pid];
  p.pid = *pid;
  p.slot = slot.id;
  p.role = role;
  p.state = WorkerState::Starting;
  p.reason = reason;
  p.spec = spec;
  p.started = now;
  p.ready_deadline = now + policy_.ready_timeout;
  p.ready_timeout = policy_.ready_timeout;
  if (policy_.ready_mode == ReadyMode::Auto) p.grace_deadline = now + policy_.ready_grace;
  events_.publish({"workerStart",
                   {{"worker", to_int(slot.id)}, {"pid", to_int(*pid)},
                    {"reason", to_string(reason)}}});
  return &p;
}

Result<void> Supervisor::spawn_current(Slot& slot, Reason reason) {
  CSERVICE_CHECK(!slot.current, "spawn into a slot whose process is still alive");
  slot.restart_at.reset();
  auto spawned = spawn(slot, slot.spec, Role::Current, reason);
  if (!spawned) {
    // Exec failed (the program vanished, a resource ran out): as good as an instant crash.
    log::error("worker {}: {}", to_int(slot.id), spawned.error().message);
    slot.reason = Reason::Failure;
    slot.since = clock_.now();
    after_failure(slot);
    return spawned.error();
  }
  Process* p = *spawned;
  slot.current = p->pid;
  slot.reason = reason;
  slot.since = clock_.now();
  log::info("{}: starting ({})", name_of(*p), to_string(reason));
  if (policy_.ready_mode == ReadyMode::Started) become_ready(*p, "started");
  return {};
}

void Supervisor::set_state(Process& p, WorkerState state, Reason reason) {
  log::info("{}: {} -> {} ({})", name_of(p), to_string(p.state), to_string(state),
            to_string(reason));
  p.state = state;
  p.reason = reason;
  if (p.role == Role::Current) {
    Slot& s = slot_of(p);
    s.reason = reason;
    s.since = clock_.now();
  }
  if (state == WorkerState::Stopping && p.role != Role::Orphan) {
    events_.publish({"workerStopping",
                     {{"worker", to_int(p.slot)}, {"pid", to_int(p.pid)},
                      {"reason", to_string(reason)}}});
  }
}

void Supervisor::publish_ready(const Process& p) {
  events_.publish({"workerReady",
                   {{"worker", to_int(p.slot)}, {"pid", to_int(p.pid)},
                    {"reason", to_string(p.reason)},
                    {"readyMs", ms(clock_.now() - p.started)}}});
}

void Supervisor::become_ready(Process& p, std::string_view why) {
  p.ready_deadline.reset();
  p.grace_deadline.reset();
  if (p.role == Role::Incoming) {
    replacement_ready(p, why);
    return;
  }
  log::info("{}: ready ({})", name_of(p), why);
  set_state(p, WorkerState::Ready, p.reason);
  publish_ready(p);
  answer_ready_waiters(p, nlohmann::json{{"worker", to_int(p.slot)},
                                         {"pid", to_int(p.pid)},
                                         {"readyMs", ms(clock_.now() - p.started)}});
}

void Supervisor::answer_ready_waiters(Process& p, const Result<nlohmann::json>& result) {
  for (auto& done : std::exchange(p.on_ready, {})) done(result);
}

std::size_t Supervisor::worker_target() const {
  return static_cast<std::size_t>(
      std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.removing; }));
}

Result<void> Supervisor::count_can_change() const {
  if (shutting_down_) return make_error(errc::busy, "busy: the service is shutting down");
  if (rollout_) {
    return make_error(errc::busy,
                      fmt::format("busy: '{}' is running", rollout_->request.description));
  }
  return {};
}

Result<std::size_t> Supervisor::add_worker() {
  const Entry entry(*this);
  if (auto free = count_can_change(); !free) return free.error();
  // A removed slot whose worker has gone is taken again; one still stopping is left to finish.
  Slot* s = nullptr;
  for (auto& candidate : slots_) {
    if (candidate.removing && !candidate.current && !candidate.incoming) {
      s = &candidate;
      break;
    }
  }
  if (s == nullptr) s = &add_slot();
  s->removing = false;
  s->spec = current_spec_;
  s->crash_loop = false;
  s->history.clear();
  s->restart_at.reset();
  if (auto spawned = spawn_current(*s, Reason::Start); !spawned) return spawned.error();
  return worker_target();
}

Result<std::size_t> Supervisor::remove_worker() {
  const Entry entry(*this);
  if (auto free = count_can_change(); !free) return free.error();
  Slot* last = nullptr;
  for (auto& s : slots_) {
    if (!s.removing) last = &s;
  }
  if (last == nullptr || worker_target() <= 1) {
    return make_error(errc::bad_request, "the service keeps at least one worker");
  }
  last->removing = true;
  last->restart_at.reset();
  if (Process* p = current_of(*last)) {
    request_stop(*p, StopMode::Graceful, Reason::Shutdown, policy_.stop_timeout);
  } else {
    drop_removed_slots();
  }
  return worker_target();
}

void Supervisor::drop_removed_slots() {
  while (!slots_.empty() && slots_.back().removing && !slots_.back().current &&
         !slots_.back().incoming) {
    slots_.pop_back();
  }
}

Result<void> Supervisor::when_ready(Pid pid, std::optional<Milliseconds> within,
                                    Completion done) {
  const Entry entry(*this);
  Process* p = find(pid);
  if (p == nullptr || p->role != Role::Current || p->state == WorkerState::Stopping) {
    return make_error(errc::not_found, fmt::format("no starting worker with pid {}", to_int(pid)));
  }
  if (p->state == WorkerState::Ready) {
    done(nlohmann::json{{"worker", to_int(p->slot)}, {"pid", to_int(p->pid)}, {"readyMs", 0}});
    return {};
  }
  if (within && p->ready_deadline && p->started + *within < *p->ready_deadline) {
    p->ready_deadline = p->started + *within;
    p->ready_timeout = *within;
  }
  p->on_ready.push_back(std::move(done));
  return {};
}

void Supervisor::request_stop(Process& p, StopMode mode, Reason reason, Milliseconds timeout) {
  p.exit_expected = true;
  p.ready_deadline.reset();
  p.grace_deadline.reset();
  if (p.state != WorkerState::Stopping) set_state(p, WorkerState::Stopping, reason);
  p.reason = reason;
  p.stop_timeout = timeout;
  spawner_.stop(p.slot, p.pid, mode);
  if (mode == StopMode::Graceful) {
    p.kill_deadline = clock_.now() + timeout;
  } else {
    p.kill_deadline.reset();
  }
}

void Supervisor::retire(Process& p, Reason reason, Milliseconds timeout, StopMode mode) {
  Slot& s = slot_of(p);
  if (s.current == p.pid) s.current.reset();
  if (s.incoming == p.pid) s.incoming.reset();
  p.role = Role::Retiring;
  request_stop(p, mode, reason, timeout);
}

void Supervisor::adopt_orphan(Pid pid, std::optional<Pid> worker) {
  const Entry entry(*this);
  if (processes_.contains(pid)) return;
  Process& p = processes_[pid];
  p.pid = pid;
  p.role = Role::Orphan;
  p.state = WorkerState::Stopping;
  p.reason = Reason::Shutdown;
  p.started = clock_.now();
  p.exit_expected = true;
  // It gets the stop timeout, but no more than what its worker had left (a stop's deadline holds
  // for everything below the worker), nor past a shutdown's deadline.
  const TimePoint now = clock_.now();
  TimePoint deadline = now + shutdown_timeout_.value_or(policy_.stop_timeout);
  if (const auto it = worker ? stop_deadlines_.find(*worker) : stop_deadlines_.end();
      it != stop_deadlines_.end()) {
    deadline = std::min(deadline, it->second);
  }
  if (shutdown_deadline_) deadline = std::min(deadline, *shutdown_deadline_);
  deadline = std::max(deadline, now);
  log::warn("pid {} escaped the process group of {} and outlived it; stopping it (SIGKILL in {} "
            "ms)",
            to_int(pid), worker ? fmt::format("worker pid {}", to_int(*worker)) : "a worker",
            ms(deadline - now));
  spawner_.stop(WorkerId{}, pid, StopMode::Graceful);
  p.stop_timeout = std::chrono::duration_cast<Milliseconds>(deadline - now);
  p.kill_deadline = deadline;
}

// ---- Notify messages --------------------------------------------------------------------------

void Supervisor::on_ready(Pid pid) {
  const Entry entry(*this);
  Process* p = find(pid);
  if (p == nullptr || p->role == Role::Orphan || p->role == Role::Retiring) return;
  if (p->state != WorkerState::Starting) {
    if (p->state != WorkerState::Ready) {
      log::info("{}: READY=1 while {}; ignored", name_of(*p), to_string(p->state));
    }
    return;
  }
  become_ready(*p, "READY=1");
}

void Supervisor::on_not_ready(Pid pid) {
  const Entry entry(*this);
  Process* p = find(pid);
  // The worker speaks the protocol: wait for its READY=1 (bounded by the ready timeout).
  if (p != nullptr && p->state == WorkerState::Starting) p->grace_deadline.reset();
}

void Supervisor::on_status(Pid pid, std::string text) {
  const Entry entry(*this);
  Process* p = find(pid);
  if (p == nullptr || p->role == Role::Orphan) return;
  p->status = std::move(text);
  on_not_ready(pid);
}

void Supervisor::on_extend_timeout(Pid pid, Duration extra) {
  const Entry entry(*this);
  Process* p = find(pid);
  if (p == nullptr || p->role == Role::Orphan) return;
  const TimePoint until = clock_.now() + extra;
  if (p->state == WorkerState::Starting && p->ready_deadline) {
    p->ready_deadline = std::max(*p->ready_deadline, until);
    p->grace_deadline.reset();
  } else if (p->state == WorkerState::Stopping && p->kill_deadline) {
    p->kill_deadline = std::max(*p->kill_deadline, until);
  }
}

void Supervisor::on_stopping(Pid pid) {
  const Entry entry(*this);
  Process* p = find(pid);
  if (p == nullptr || p->role != Role::Current || p->state == WorkerState::Stopping) return;
  // It leaves by itself; its exit is still unexpected, so it will be replaced.
  p->ready_deadline.reset();
  p->grace_deadline.reset();
  set_state(*p, WorkerState::Stopping, p->reason);
}

// ---- Exits ------------------------------------------------------------------------------------

void Supervisor::on_exited(Pid pid, ExitStatus status) {
  const Entry entry(*this);
  const auto it = processes_.find(pid);
  if (it == processes_.end()) {
    log::info("pid {} exited ({}); not a worker", to_int(pid), status.describe());
    return;
  }
  Process p = std::move(it->second);
  processes_.erase(it);
  answer_ready_waiters(p, make_error(errc::failed,
                                     fmt::format("{} exited before it was ready ({})",
                                                 name_of(p), status.describe())));
  if (p.role != Role::Orphan && p.kill_deadline) remember_stop_deadline(p.pid, *p.kill_deadline);
  switch (p.role) {
    case Role::Orphan:
      log::info("{}: exited ({})", name_of(p), status.describe());
      break;
    case Role::Retiring:
      log::info("{}: exited ({})", name_of(p), status.describe());
      events_.publish({"workerExit", exit_event(p, p.reason, status)});
      if (rollout_ && rollout_->retiring.erase(pid) > 0) finish_rollout_if_done();
      break;
    case Role::Incoming:
      slot_of(p).incoming.reset();
      replacement_failed(p, fmt::format("exited ({})", status.describe()));
      break;
    case Role::Current: current_exited(std::move(p), status); break;
  }
}

void Supervisor::remember_stop_deadline(Pid pid, TimePoint deadline) {
  // Kept a minute: descendants are adopted right after their worker's exit is reaped.
  const TimePoint now = clock_.now();
  std::erase_if(stop_deadlines_, [now](const auto& entry) {
    return entry.second + std::chrono::minutes(1) < now;
  });
  stop_deadlines_[pid] = deadline;
}

void Supervisor::current_exited(Process p, ExitStatus status) {
  Slot& s = slot_of(p);
  s.current.reset();
  const bool failure = !p.exit_expected;
  const Reason reason = failure ? Reason::Failure : p.reason;
  log::info("{}: exited ({})", name_of(p), status.describe());
  s.reason = reason;
  s.since = clock_.now();
  events_.publish({"workerExit", exit_event(p, reason, status)});
  for (auto& done : std::exchange(s.on_stopped, {})) {
    done(nlohmann::json{{"stopped", {{"worker", to_int(s.id)}, {"pid", to_int(p.pid)},
                                     {"status", status.describe()}}}});
  }
  if (s.removing) {
    drop_removed_slots();  // `s` may be gone from here on
    return;
  }
  if (!failure) return;
  // A replacement under way takes the slot over when ready (at once if it is on trial and
  // ready); no restart of its own.
  if (!s.incoming) {
    after_failure(s);
  } else if (const Process* in = find(*s.incoming);
             rollout_ && rollout_->canary && in != nullptr && in->state == WorkerState::Ready) {
    take_over_on_trial(s);
  }
  if (rollout_) replaced_worker_exited(p, status);
}

void Supervisor::after_failure(Slot& s) {
  if (shutting_down_ || !policy_.restart_on_failure) return;
  const TimePoint now = clock_.now();
  if (!s.history.try_restart(now, policy_.restarts_per_minute)) {
    if (!s.crash_loop) {
      events_.publish({"crashLoop",
                       {{"worker", to_int(s.id)}, {"restarts", s.history.recent(now)},
                        {"restartsPerMinute", policy_.restarts_per_minute}}});
    }
    s.crash_loop = true;
    log::error(
        "CRASH LOOP: worker {} failed after {} restarts in the last minute "
        "(restartsPerMinute={}); it will not be restarted",
        to_int(s.id), s.history.recent(now), policy_.restarts_per_minute);
    return;
  }
  ++s.restarts;
  s.restart_at = now + policy_.restart_delay;
}

// ---- Time -------------------------------------------------------------------------------------

void Supervisor::on_timer() {
  const Entry entry(*this);
  const TimePoint now = clock_.now();
  for (auto& s : slots_) {
    if (s.restart_at && *s.restart_at <= now && !s.current && !shutting_down_) {
      (void)spawn_current(s, Reason::Restart);
    }
  }
  // Handling one process's deadline may add or remove others: collect first.
  std::vector<Pid> due;
  for (const auto& [pid, p] : processes_) {
    if (const auto d = p.earliest_deadline(); d && *d <= now) due.push_back(pid);
  }
  for (const Pid pid : due) on_deadline(pid, now);
  if (rollout_ && rollout_->monitor_until && *rollout_->monitor_until <= now) monitor_over();
  if (rollout_ && rollout_->bake_until && *rollout_->bake_until <= now) bake_over();
}

void Supervisor::on_deadline(Pid pid, TimePoint now) {
  Process* p = find(pid);
  if (p == nullptr) return;
  if (p->kill_deadline && *p->kill_deadline <= now) {
    log::warn("{}: still running {} ms after the stop signal; sending SIGKILL", name_of(*p),
              p->stop_timeout.count());
    // What it left behind outside its tree (a daemon's grandchild) is due as well.
    if (p->role != Role::Orphan) remember_stop_deadline(p->pid, now);
    if (shutting_down_) ++killed_at_shutdown_;
    p->kill_deadline.reset();
    spawner_.stop(p->slot, p->pid, StopMode::Kill);
    return;
  }
  if (p->state != WorkerState::Starting) return;
  if (p->ready_deadline && *p->ready_deadline <= now) {
    log::error("{}: not ready after {} ms ({}); stopping it", name_of(*p), ms(p->ready_timeout),
               p->ready_timeout == policy_.ready_timeout
                   ? "readyTimeoutMs"
                   : "the time-out it was started with");
    answer_ready_waiters(*p, make_error(errc::timed_out,
                                        fmt::format("{} was not ready after {} ms; stopped",
                                                    name_of(*p), ms(p->ready_timeout))));
    if (p->role == Role::Incoming) {
      const std::string why = fmt::format("was not ready after {} ms", ms(p->ready_timeout));
      retire(*p, Reason::Failure, policy_.stop_timeout, StopMode::Graceful);
      replacement_failed(*p, why);
      return;
    }
    request_stop(*p, StopMode::Graceful, Reason::Failure, policy_.stop_timeout);
    p->exit_expected = false;  // its exit counts as a failure: restarted
    return;
  }
  if (p->grace_deadline && *p->grace_deadline <= now) {
    become_ready(*p, "up for readyGraceMs without a notify message");
  }
}

std::optional<TimePoint> Supervisor::next_deadline() const {
  std::optional<TimePoint> next;
  for (const auto& s : slots_) {
    if (!s.current && !shutting_down_) earliest(next, s.restart_at);
  }
  for (const auto& [pid, p] : processes_) earliest(next, p.earliest_deadline());
  if (rollout_) {
    earliest(next, rollout_->monitor_until);
    earliest(next, rollout_->bake_until);
  }
  return next;
}

// ---- Operator requests ------------------------------------------------------------------------

void Supervisor::shutdown(StopMode mode, std::optional<Milliseconds> stop_timeout) {
  const Entry entry(*this);
  shutting_down_ = true;
  if (stop_timeout) shutdown_timeout_ = stop_timeout;
  const Milliseconds timeout = shutdown_timeout_.value_or(policy_.stop_timeout);
  if (mode == StopMode::Graceful) {
    const TimePoint deadline = clock_.now() + timeout;
    if (!shutdown_deadline_ || deadline < *shutdown_deadline_) shutdown_deadline_ = deadline;
  } else {
    shutdown_deadline_ = clock_.now();
  }
  if (rollout_) abandon_rollout("the service is shutting down");
  for (auto& s : slots_) s.restart_at.reset();
  const TimePoint now = clock_.now();
  for (auto& [pid, p] : processes_) {
    if (p.role == Role::Incoming) {
      retire(p, Reason::Shutdown, timeout, mode);
      continue;
    }
    if (mode == StopMode::Kill) {
      p.kill_deadline.reset();
      spawner_.stop(p.slot, p.pid, StopMode::Kill);
      continue;
    }
    if (p.state == WorkerState::Stopping) {
      // Already told to stop: it keeps its signal, but no longer than this shutdown allows.
      p.exit_expected = true;
      if (p.role == Role::Current) p.reason = Reason::Shutdown;
      if (!p.kill_deadline || *p.kill_deadline > now + timeout) {
        p.kill_deadline = now + timeout;
        p.stop_timeout = timeout;
      }
      continue;
    }
    request_stop(p, mode, Reason::Shutdown, timeout);
  }
}

bool Supervisor::is_finished() const { return shutting_down_ && processes_.empty(); }

Result<void> Supervisor::stop_worker(Pid pid, std::optional<Milliseconds> stop_timeout,
                                     Completion done) {
  const Entry entry(*this);
  Process* p = find(pid);
  if (p == nullptr || p->role != Role::Current) {
    return make_error(errc::not_found, fmt::format("no worker has pid {}", to_int(pid)));
  }
  slot_of(*p).on_stopped.push_back(std::move(done));
  const Milliseconds timeout = stop_timeout.value_or(policy_.stop_timeout);
  if (p->state != WorkerState::Stopping || !p->exit_expected) {
    request_stop(*p, StopMode::Graceful, Reason::Shutdown, timeout);
  } else if (stop_timeout) {
    p->kill_deadline = clock_.now() + timeout;
    p->stop_timeout = timeout;
  }
  return {};
}

Result<std::vector<Pid>> Supervisor::start_workers(std::size_t add,
                                                   std::optional<ProgramSpec> program) {
  const Entry entry(*this);
  if (shutting_down_) return make_error(errc::busy, "busy: the service is shutting down");
  if (rollout_) {
    // It would not replace them: an upgrade would end with workers of the old program.
    return make_error(errc::busy,
                      fmt::format("busy: '{}' is running", rollout_->request.description));
  }
  const SpecPtr spec = program ? std::make_shared<const ProgramSpec>(*program) : current_spec_;
  const std::size_t before = slots_.size();
  std::vector<WorkerId> ids;
  if (add > 0) {
    for (std::size_t i = 0; i < add; ++i) ids.push_back(add_slot().id);
  } else {
    for (const auto& s : slots_) {
      if (!s.current && !s.incoming && !s.removing) ids.push_back(s.id);
    }
  }
  std::vector<Pid> started;
  std::optional<Error> failed;
  for (const WorkerId id : ids) {
    Slot& s = slot(id);
    s.spec = spec;
    s.crash_loop = false;
    s.history.clear();
    if (auto spawned = spawn_current(s, Reason::Start); !spawned && !failed) {
      failed = spawned.error();
    }
    if (s.current) started.push_back(*s.current);
  }
  if (failed && add > 0) {
    // New slots whose program cannot even start are taken back: nothing is left changed.
    while (slots_.size() > before && !slots_.back().current) slots_.pop_back();
    if (started.empty()) return make_error(errc::bad_request, "start: " + failed->message);
  }
  return started;
}

}  // namespace cservice::supervisor
