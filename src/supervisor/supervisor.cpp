#include "supervisor/supervisor.hpp"

#include "base/check.hpp"
#include "base/log.hpp"

#include <algorithm>
#include <chrono>

namespace cservice::supervisor {
namespace {

std::string worker_name(const WorkerInfo& w) {
  if (w.pid) return fmt::format("worker {} pid {}", to_int(w.id), to_int(*w.pid));
  return fmt::format("worker {}", to_int(w.id));
}

long long ms(Duration d) {
  return std::chrono::duration_cast<Milliseconds>(d).count();
}

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

Supervisor::Supervisor(const Policy& policy, Spawner& spawner, const Clock& clock,
                       EventBus& events)
    : policy_(policy), spawner_(spawner), clock_(clock), events_(events) {
  slots_.resize(policy_.worker_count);
  for (std::uint32_t i = 0; i < policy_.worker_count; ++i) {
    slots_[i].info.id = WorkerId{i + 1};
    slots_[i].info.since = clock_.now();
  }
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
  auto pid = spawner_.start(slot.info.id);
  if (!pid) {
    // Exec failed (the program vanished, a resource ran out): as good as an instant crash.
    log::error("worker {}: {}", to_int(slot.info.id), pid.error().message);
    slot.info.reason = Reason::Failure;
    slot.info.since = clock_.now();
    after_failure(slot);
    return;
  }
  slot.info.pid = *pid;
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
  Slot* slot = find(pid);
  if (slot == nullptr || slot->info.state != WorkerState::Starting) return;
  // The worker speaks the protocol: wait for its READY=1 (bounded by the ready timeout).
  slot->grace_deadline.reset();
}

void Supervisor::on_status(Pid pid, std::string text) {
  Slot* slot = find(pid);
  if (slot == nullptr) return;
  slot->info.status = std::move(text);
  on_not_ready(pid);
}

void Supervisor::on_extend_timeout(Pid pid, Duration extra) {
  Slot* slot = find(pid);
  if (slot == nullptr) return;
  const TimePoint until = clock_.now() + extra;
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
  if (failure) after_failure(*slot);
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
  }
}

void Supervisor::shutdown(StopMode mode) {
  shutting_down_ = true;
  for (auto& slot : slots_) {
    slot.restart_at.reset();
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
}

bool Supervisor::is_finished() const {
  return shutting_down_ &&
         std::none_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.info.pid; });
}

std::optional<TimePoint> Supervisor::next_deadline() const {
  std::optional<TimePoint> next;
  for (const auto& slot : slots_) {
    earliest(next, slot.restart_at);
    earliest(next, slot.ready_deadline);
    earliest(next, slot.grace_deadline);
    earliest(next, slot.kill_deadline);
  }
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
