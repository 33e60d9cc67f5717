#include "supervisor/supervisor.hpp"

#include "base/check.hpp"
#include "base/log.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace cservice::supervisor {
namespace {

std::string worker_name(const WorkerInfo& w) {
  if (w.pid) return fmt::format("worker {} pid {}", to_int(w.id), to_int(*w.pid));
  return fmt::format("worker {}", to_int(w.id));
}

long long ms(Duration d) { return std::chrono::duration_cast<Milliseconds>(d).count(); }

void earliest(std::optional<TimePoint>& best, const std::optional<TimePoint>& candidate) {
  if (candidate && (!best || *candidate < *best)) best = candidate;
}

}  // namespace

const char* to_string(HealthState state) {
  switch (state) {
    case HealthState::Ok: return "ok";
    case HealthState::Degraded: return "degraded";
    case HealthState::CrashLoop: return "crash-loop";
    case HealthState::Stopping: return "stopping";
  }
  return "unknown";
}

std::size_t rollout_batch_size(std::size_t n, double ratio) {
  if (n == 0) return 0;
  const double extra = std::floor(static_cast<double>(n) * std::max(0.0, ratio));
  return std::min(n, 1 + static_cast<std::size_t>(extra));
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
  slot.info.id = WorkerId{static_cast<std::uint32_t>(slots_.size())};
  slot.info.since = clock_.now();
  slot.spec = current_spec_;
  slot.info.program = current_spec_->program;
  return slot;
}

void Supervisor::start() {
  for (auto& slot : slots_) spawn(slot, Reason::Start);
}

Supervisor::Slot* Supervisor::find(Pid pid) {
  for (auto& slot : slots_) {
    if (slot.info.pid == pid) return &slot;
  }
  return nullptr;
}

const Supervisor::Slot* Supervisor::find(Pid pid) const {
  return const_cast<Supervisor*>(this)->find(pid);
}

Supervisor::Slot* Supervisor::find_incoming(Pid pid) {
  for (auto& slot : slots_) {
    if (slot.incoming && slot.incoming->pid == pid) return &slot;
  }
  return nullptr;
}

bool Supervisor::is_worker(Pid pid) const {
  if (find(pid) != nullptr || const_cast<Supervisor*>(this)->find_incoming(pid) != nullptr) {
    return true;
  }
  return std::any_of(retiring_.begin(), retiring_.end(),
                     [pid](const Retiring& r) { return r.pid == pid; });
}

void Supervisor::set_state(Slot& slot, WorkerState state, Reason reason) {
  log::info("{}: {} -> {} ({})", worker_name(slot.info), to_string(slot.info.state),
            to_string(state), to_string(reason));
  slot.info.state = state;
  slot.info.reason = reason;
  slot.info.since = clock_.now();
}

void Supervisor::spawn(Slot& slot, Reason reason) {
  CSERVICE_CHECK(!slot.info.pid, "spawn into a slot whose process is still alive");
  slot.restart_at.reset();
  slot.exit_expected = false;
  slot.info.status.clear();
  auto pid = spawner_.start(slot.info.id, *slot.spec);
  if (!pid) {
    // Exec failed (the program vanished, a resource ran out): as good as an instant crash.
    log::error("worker {}: {}", to_int(slot.info.id), pid.error().message);
    slot.info.reason = Reason::Failure;
    slot.info.since = clock_.now();
    after_failure(slot);
    return;
  }
  slot.info.pid = *pid;
  slot.info.started = clock_.now();
  set_state(slot, WorkerState::Starting, reason);
  events_.publish({"workerStart",
                   {{"worker", to_int(slot.info.id)}, {"pid", to_int(*pid)},
                    {"reason", to_string(reason)}}});
  const TimePoint now = clock_.now();
  slot.ready_deadline = now + policy_.ready_timeout;
  slot.grace_deadline.reset();
  if (policy_.ready_mode == ReadyMode::Started) {
    become_ready(slot, "started");
  } else if (policy_.ready_mode == ReadyMode::Auto) {
    slot.grace_deadline = now + policy_.ready_grace;
  }
}

void Supervisor::become_ready(Slot& slot, std::string_view why) {
  slot.ready_deadline.reset();
  slot.grace_deadline.reset();
  log::info("{}: ready ({})", worker_name(slot.info), why);
  set_state(slot, WorkerState::Ready, slot.info.reason);
}

void Supervisor::on_ready(Pid pid) {
  if (Slot* incoming = find_incoming(pid)) {
    if (!incoming->incoming->ready) incoming_ready(*incoming, "READY=1");
    return;
  }
  Slot* slot = find(pid);
  if (slot == nullptr) return;
  if (slot->info.state != WorkerState::Starting) {
    if (slot->info.state != WorkerState::Ready) {
      log::info("{}: READY=1 while {}; ignored", worker_name(slot->info),
                to_string(slot->info.state));
    }
    return;
  }
  become_ready(*slot, "READY=1");
}

void Supervisor::on_not_ready(Pid pid) {
  if (Slot* incoming = find_incoming(pid)) {
    incoming->incoming->grace_deadline.reset();
    return;
  }
  Slot* slot = find(pid);
  if (slot == nullptr || slot->info.state != WorkerState::Starting) return;
  // The worker speaks the protocol: wait for its READY=1 (bounded by the ready timeout).
  slot->grace_deadline.reset();
}

void Supervisor::on_status(Pid pid, std::string text) {
  if (Slot* incoming = find_incoming(pid)) {
    incoming->incoming->status = std::move(text);
    on_not_ready(pid);
    return;
  }
  Slot* slot = find(pid);
  if (slot == nullptr) return;
  slot->info.status = std::move(text);
  on_not_ready(pid);
}

void Supervisor::on_extend_timeout(Pid pid, Duration extra) {
  const TimePoint until = clock_.now() + extra;
  if (Slot* incoming = find_incoming(pid)) {
    if (incoming->incoming->ready_deadline) {
      incoming->incoming->ready_deadline = std::max(*incoming->incoming->ready_deadline, until);
    }
    incoming->incoming->grace_deadline.reset();
    return;
  }
  Slot* slot = find(pid);
  if (slot == nullptr) return;
  if (slot->info.state == WorkerState::Starting) {
    slot->ready_deadline = std::max(*slot->ready_deadline, until);
    slot->grace_deadline.reset();
  } else if (slot->info.state == WorkerState::Stopping && slot->kill_deadline) {
    slot->kill_deadline = std::max(*slot->kill_deadline, until);
  }
}

void Supervisor::on_stopping(Pid pid) {
  Slot* slot = find(pid);
  if (slot == nullptr || slot->info.state == WorkerState::Stopping) return;
  // It leaves by itself; its exit is still unexpected, so it will be replaced.
  slot->ready_deadline.reset();
  slot->grace_deadline.reset();
  set_state(*slot, WorkerState::Stopping, slot->info.reason);
}

void Supervisor::request_stop(Slot& slot, StopMode mode, bool expected, Reason reason) {
  CSERVICE_CHECK(slot.info.pid.has_value(), "stop of a slot without a process");
  slot.exit_expected = expected;
  slot.stop_reason = reason;
  slot.ready_deadline.reset();
  slot.grace_deadline.reset();
  if (slot.info.state != WorkerState::Stopping) {
    set_state(slot, WorkerState::Stopping, reason);
  }
  spawner_.stop(slot.info.id, *slot.info.pid, mode);
  if (mode == StopMode::Graceful) {
    slot.kill_deadline = clock_.now() + policy_.stop_timeout;
  } else {
    slot.kill_deadline.reset();
  }
}

void Supervisor::on_exited(Pid pid, ExitStatus status) {
  if (const auto it = std::find_if(retiring_.begin(), retiring_.end(),
                                   [pid](const Retiring& r) { return r.pid == pid; });
      it != retiring_.end()) {
    log::info("worker {} pid {}: exited ({}) after being replaced", to_int(it->id), to_int(pid),
              status.describe());
    events_.publish({"workerExit",
                     {{"worker", to_int(it->id)}, {"pid", to_int(pid)},
                      {"reason", to_string(it->reason)}, {"status", status.describe()}}});
    retiring_.erase(it);
    if (rollout_ && rollout_->retiring.erase(pid) > 0) finish_rollout_if_done();
    return;
  }
  if (Slot* slot = find_incoming(pid)) {
    const WorkerId id = slot->info.id;
    log::error("worker {} pid {}: the replacement exited ({}) before it took over", to_int(id),
               to_int(pid), status.describe());
    events_.publish({"workerExit",
                     {{"worker", to_int(id)}, {"pid", to_int(pid)},
                      {"reason", to_string(Reason::Failure)}, {"status", status.describe()}}});
    slot->incoming.reset();
    if (rollout_) {
      rollout_->active.erase(id);
      fail_rollout(fmt::format("worker {}: the new process (pid {}) exited ({}) {}", to_int(id),
                               to_int(pid), status.describe(),
                               rollout_->monitor_until ? "while on trial" : "before it was ready"));
    }
    return;
  }
  Slot* slot = find(pid);
  if (slot == nullptr) {
    log::info("pid {} exited ({}); not a worker", to_int(pid), status.describe());
    return;
  }
  const bool failure = !slot->exit_expected;
  const Reason reason = failure ? Reason::Failure : slot->stop_reason;
  log::info("{}: exited ({})", worker_name(slot->info), status.describe());
  set_state(*slot, WorkerState::Exited, reason);
  slot->info.pid.reset();
  slot->ready_deadline.reset();
  slot->grace_deadline.reset();
  slot->kill_deadline.reset();
  events_.publish({"workerExit",
                   {{"worker", to_int(slot->info.id)}, {"pid", to_int(pid)},
                    {"reason", to_string(reason)}, {"status", status.describe()}}});
  for (auto& done : std::exchange(slot->on_stopped, {})) {
    done(nlohmann::json{{"stopped", {{"worker", to_int(slot->info.id)}, {"pid", to_int(pid)},
                                     {"status", status.describe()}}}});
  }
  // A replacement under way takes the slot over when ready; no restart of its own.
  if (failure && !slot->incoming) after_failure(*slot);
}

void Supervisor::after_failure(Slot& slot) {
  if (shutting_down_ || !policy_.restart_on_failure) return;
  const TimePoint now = clock_.now();
  if (!slot.history.try_restart(now, policy_.restarts_per_minute)) {
    slot.info.crash_loop = true;
    log::error(
        "CRASH LOOP: worker {} failed after {} restarts in the last minute "
        "(restartsPerMinute={}); it will not be restarted",
        to_int(slot.info.id), slot.history.recent(now), policy_.restarts_per_minute);
    return;
  }
  ++slot.info.restarts;
  slot.restart_at = now + policy_.restart_delay;
}

void Supervisor::on_timer() {
  const TimePoint now = clock_.now();
  for (auto& slot : slots_) {
    if (slot.restart_at && *slot.restart_at <= now) {
      spawn(slot, Reason::Restart);
    } else if (slot.info.state == WorkerState::Starting) {
      if (slot.ready_deadline && *slot.ready_deadline <= now) {
        log::error("{}: not ready after {} ms (readyTimeoutMs); stopping it",
                   worker_name(slot.info), ms(policy_.ready_timeout));
        request_stop(slot, StopMode::Graceful, /*expected=*/false, Reason::Failure);
      } else if (slot.grace_deadline && *slot.grace_deadline <= now) {
        become_ready(slot, "up for readyGraceMs without a notify message");
      }
    } else if (slot.kill_deadline && *slot.kill_deadline <= now) {
      log::warn("{}: still running {} ms after the stop signal; sending SIGKILL",
                worker_name(slot.info), ms(policy_.stop_timeout));
      slot.kill_deadline.reset();
      spawner_.stop(slot.info.id, *slot.info.pid, StopMode::Kill);
    }
    if (slot.incoming && !slot.incoming->ready) {
      Incoming& in = *slot.incoming;
      if (in.ready_deadline && *in.ready_deadline <= now) {
        const Pid pid = in.pid;
        const WorkerId id = slot.info.id;
        slot.incoming.reset();
        retire(id, pid, Reason::Failure, policy_.stop_timeout, StopMode::Graceful);
        if (rollout_) {
          rollout_->active.erase(id);
          fail_rollout(fmt::format("worker {}: the new process (pid {}) was not ready after {} ms",
                                   to_int(id), to_int(pid), ms(policy_.ready_timeout)));
        }
      } else if (in.grace_deadline && *in.grace_deadline <= now) {
        incoming_ready(slot, "up for readyGraceMs without a notify message");
      }
    }
  }
  for (auto& r : retiring_) {
    if (r.kill_deadline && *r.kill_deadline <= now) {
      log::warn("worker {} pid {}: replaced, still running after its stop timeout; sending SIGKILL",
                to_int(r.id), to_int(r.pid));
      r.kill_deadline.reset();
      spawner_.stop(r.id, r.pid, StopMode::Kill);
    }
  }
  if (rollout_ && rollout_->monitor_until && *rollout_->monitor_until <= now) {
    // The first upgraded worker stayed up through its trial: replace the rest.
    Rollout& r = *rollout_;
    r.monitor_until.reset();
    r.canary_phase = false;
    for (const WorkerId id : std::vector<WorkerId>(r.active.begin(), r.active.end())) {
      Slot& slot = slots_[to_int(id) - 1];
      if (slot.incoming && slot.incoming->ready) {
        r.active.erase(id);
        promote(slot);
      }
    }
    pump_rollout();
  }
}

void Supervisor::shutdown(StopMode mode) {
  shutting_down_ = true;
  if (rollout_) fail_rollout("cancelled: the service is shutting down");
  for (auto& slot : slots_) {
    slot.restart_at.reset();
    if (slot.incoming) {
      const Pid pid = slot.incoming->pid;
      slot.incoming.reset();
      retire(slot.info.id, pid, Reason::Shutdown, policy_.stop_timeout, mode);
    }
    if (!slot.info.pid) continue;
    // A worker already stopping gets the signal again only when forced.
    if (slot.info.state == WorkerState::Stopping && mode == StopMode::Graceful &&
        slot.kill_deadline) {
      slot.exit_expected = true;
      slot.stop_reason = Reason::Shutdown;
      continue;
    }
    request_stop(slot, mode, /*expected=*/true, Reason::Shutdown);
  }
  if (mode == StopMode::Kill) {
    for (auto& r : retiring_) {
      r.kill_deadline.reset();
      spawner_.stop(r.id, r.pid, StopMode::Kill);
    }
  }
}

bool Supervisor::is_finished() const {
  return shutting_down_ && retiring_.empty() &&
         std::none_of(slots_.begin(), slots_.end(),
                      [](const Slot& s) { return s.info.pid || s.incoming; });
}

// ---- Rollouts -------------------------------------------------------------------------------

Result<void> Supervisor::begin_rollout(RolloutRequest request, Completion done) {
  if (shutting_down_) return make_error(errc::busy, "busy: the service is shutting down");
  if (rollout_) {
    return make_error(errc::busy,
                      fmt::format("busy: '{}' is running", rollout_->request.description));
  }
  Rollout r;
  if (request.only) {
    const Slot* slot = find(*request.only);
    if (slot == nullptr) {
      return make_error(errc::not_found, fmt::format("no worker has pid {}", to_int(*request.only)));
    }
    r.pending.push_back(slot->info.id);
  } else {
    for (const auto& slot : slots_) r.pending.push_back(slot.info.id);
  }
  r.spec = request.program ? std::make_shared<const ProgramSpec>(*request.program) : nullptr;
  r.batch = rollout_batch_size(r.pending.size(), policy_.restart_concurrency_ratio);
  r.stop_timeout = request.stop_timeout.value_or(policy_.stop_timeout);
  r.monitor = request.monitor.value_or(policy_.upgrade_monitor);
  r.canary_phase = request.reason == Reason::Upgrade;
  r.done = std::move(done);
  r.request = std::move(request);
  log::info("{}: replacing {} worker(s), {} at a time", r.request.description, r.pending.size(),
            r.batch);
  rollout_ = std::move(r);
  pump_rollout();
  return {};
}

void Supervisor::pump_rollout() {
  if (!rollout_) return;
  Rollout& r = *rollout_;
  const std::size_t limit = r.canary_phase ? 1 : r.batch;
  while (rollout_ && r.active.size() < limit && !r.pending.empty()) {
    const WorkerId id = r.pending.front();
    r.pending.pop_front();
    Slot& slot = slots_[to_int(id) - 1];
    r.active.insert(id);
    spawn_incoming(slot);
  }
  finish_rollout_if_done();
}

void Supervisor::spawn_incoming(Slot& slot) {
  Rollout& r = *rollout_;
  const ProgramSpec& spec = r.spec ? *r.spec : *slot.spec;
  auto pid = spawner_.start(slot.info.id, spec);
  if (!pid) {
    r.active.erase(slot.info.id);
    fail_rollout(fmt::format("worker {}: {}", to_int(slot.info.id), pid.error().message));
    return;
  }
  const TimePoint now = clock_.now();
  Incoming in;
  in.pid = *pid;
  in.started = now;
  in.ready_deadline = now + policy_.ready_timeout;
  if (policy_.ready_mode == ReadyMode::Auto) in.grace_deadline = now + policy_.ready_grace;
  slot.incoming = in;
  log::info("worker {}: replacement pid {} starting ({})", to_int(slot.info.id), to_int(*pid),
            to_string(r.request.reason));
  events_.publish({"workerStart",
                   {{"worker", to_int(slot.info.id)}, {"pid", to_int(*pid)},
                    {"reason", to_string(r.request.reason)}}});
  if (policy_.ready_mode == ReadyMode::Started) incoming_ready(slot, "started");
}

void Supervisor::incoming_ready(Slot& slot, std::string_view why) {
  Incoming& in = *slot.incoming;
  in.ready = true;
  in.ready_deadline.reset();
  in.grace_deadline.reset();
  log::info("worker {}: replacement pid {} ready ({})", to_int(slot.info.id), to_int(in.pid), why);
  if (!rollout_) return;
  if (rollout_->canary_phase) {
    // On trial: it serves beside the old worker until the monitor period has passed.
    rollout_->monitor_until = clock_.now() + rollout_->monitor;
    log::info("worker {}: watching the first upgraded worker for {} ms", to_int(slot.info.id),
              rollout_->monitor.count());
    return;
  }
  rollout_->active.erase(slot.info.id);
  promote(slot);
  pump_rollout();
}

void Supervisor::promote(Slot& slot) {
  Rollout& r = *rollout_;
  const Incoming in = *slot.incoming;
  slot.incoming.reset();
  nlohmann::json entry = {{"worker", to_int(slot.info.id)}, {"newPid", to_int(in.pid)}};
  if (slot.info.pid) {
    entry["oldPid"] = to_int(*slot.info.pid);
    const Pid old = *slot.info.pid;
    slot.info.pid.reset();
    retire(slot.info.id, old, r.request.reason, r.stop_timeout, StopMode::Graceful);
    r.retiring.insert(old);
  }
  r.replaced.push_back(std::move(entry));
  if (r.spec) slot.spec = r.spec;
  slot.info.program = slot.spec->program;
  slot.info.pid = in.pid;
  slot.info.started = in.started;
  slot.info.status = in.status;
  slot.info.crash_loop = false;
  slot.restart_at.reset();
  slot.ready_deadline.reset();
  slot.grace_deadline.reset();
  slot.kill_deadline.reset();
  slot.exit_expected = false;
  slot.history.clear();
  set_state(slot, WorkerState::Ready, r.request.reason);
}

void Supervisor::retire(WorkerId id, Pid pid, Reason reason, Milliseconds stop_timeout,
                        StopMode mode) {
  spawner_.stop(id, pid, mode);
  Retiring r{id, pid, reason, std::nullopt};
  if (mode == StopMode::Graceful) r.kill_deadline = clock_.now() + stop_timeout;
  retiring_.push_back(r);
}

void Supervisor::fail_rollout(const std::string& why) {
  Rollout r = std::move(*rollout_);
  rollout_.reset();
  // Replacements not yet in place are stopped; the old workers keep serving.
  for (const WorkerId id : r.active) {
    Slot& slot = slots_[to_int(id) - 1];
    if (!slot.incoming) continue;
    const Pid pid = slot.incoming->pid;
    slot.incoming.reset();
    retire(id, pid, Reason::Failure, policy_.stop_timeout, StopMode::Graceful);
  }
  const std::string message =
      fmt::format("{} cancelled: {}; {} of the workers replaced, the others keep running {}",
                  r.request.description, why, r.replaced.size(), slots_.empty() ? "" : "as before");
  log::error("{}", message);
  if (r.done) r.done(make_error(errc::bad_request, message));
}

void Supervisor::finish_rollout_if_done() {
  if (!rollout_ || !rollout_->pending.empty() || !rollout_->active.empty() ||
      !rollout_->retiring.empty()) {
    return;
  }
  Rollout r = std::move(*rollout_);
  rollout_.reset();
  if (r.spec && !r.request.only) current_spec_ = r.spec;
  log::info("{}: done, {} worker(s) replaced", r.request.description, r.replaced.size());
  if (r.done) r.done(nlohmann::json{{"replaced", r.replaced}});
}

// ---- Single workers -------------------------------------------------------------------------

Result<void> Supervisor::stop_worker(Pid pid, std::optional<Milliseconds> stop_timeout,
                                     Completion done) {
  Slot* slot = find(pid);
  if (slot == nullptr) return make_error(errc::not_found, fmt::format("no worker has pid {}", to_int(pid)));
  slot->on_stopped.push_back(std::move(done));
  if (slot->info.state != WorkerState::Stopping || !slot->exit_expected) {
    request_stop(*slot, StopMode::Graceful, /*expected=*/true, Reason::Shutdown);
    if (stop_timeout) slot->kill_deadline = clock_.now() + *stop_timeout;
  }
  return {};
}

Result<std::vector<Pid>> Supervisor::start_workers(std::size_t add,
                                                   std::optional<ProgramSpec> program) {
  if (shutting_down_) return make_error(errc::busy, "busy: the service is shutting down");
  const SpecPtr spec = program ? std::make_shared<const ProgramSpec>(*program) : current_spec_;
  std::vector<WorkerId> ids;
  if (add > 0) {
    for (std::size_t i = 0; i < add; ++i) ids.push_back(add_slot().info.id);
  } else {
    for (const auto& slot : slots_) {
      if (!slot.info.pid && !slot.incoming) ids.push_back(slot.info.id);
    }
  }
  std::vector<Pid> started;
  for (const WorkerId id : ids) {
    Slot& slot = slots_[to_int(id) - 1];
    slot.spec = spec;
    slot.info.program = spec->program;
    slot.info.crash_loop = false;
    slot.history.clear();
    spawn(slot, Reason::Start);
    if (slot.info.pid) started.push_back(*slot.info.pid);
  }
  return started;
}

std::optional<TimePoint> Supervisor::next_deadline() const {
  std::optional<TimePoint> next;
  for (const auto& slot : slots_) {
    earliest(next, slot.restart_at);
    earliest(next, slot.ready_deadline);
    earliest(next, slot.grace_deadline);
    earliest(next, slot.kill_deadline);
    if (slot.incoming) {
      earliest(next, slot.incoming->ready_deadline);
      earliest(next, slot.incoming->grace_deadline);
    }
  }
  for (const auto& r : retiring_) earliest(next, r.kill_deadline);
  if (rollout_) earliest(next, rollout_->monitor_until);
  return next;
}

Health Supervisor::health() const {
  if (shutting_down_) return {HealthState::Stopping, "shutting down"};
  for (const auto& slot : slots_) {
    if (slot.info.crash_loop) {
      return {HealthState::CrashLoop,
              fmt::format("worker {} exceeded {} restarts a minute and is not restarted",
                          to_int(slot.info.id), policy_.restarts_per_minute)};
    }
  }
  for (const auto& slot : slots_) {
    if (slot.info.state != WorkerState::Ready) {
      return {HealthState::Degraded,
              fmt::format("worker {} is {}", to_int(slot.info.id), to_string(slot.info.state))};
    }
  }
  return {};
}

std::vector<WorkerInfo> Supervisor::workers() const {
  std::vector<WorkerInfo> out;
  out.reserve(slots_.size());
  for (const auto& slot : slots_) out.push_back(slot.info);
  return out;
}

}  // namespace cservice::supervisor
