// The Supervisor's read-only views, for commands: the service's health and its worker slots.

#include "supervisor/supervisor.hpp"

#include <fmt/format.h>

namespace cservice::supervisor {

Health Supervisor::health() const {
  if (shutting_down_) return {HealthState::Stopping, "shutting down"};
  for (const auto& s : slots_) {
    if (s.crash_loop) {
      return {HealthState::CrashLoop,
              fmt::format("worker {} exceeded {} restarts a minute and is not restarted",
                          to_int(s.id), policy_.restarts_per_minute)};
    }
  }
  for (const auto& s : slots_) {
    if (s.removing) continue;  // leaving the table: no longer part of the service
    const Process* p = s.current ? find(*s.current) : nullptr;
    if (p == nullptr || p->state != WorkerState::Ready) {
      return {HealthState::Degraded,
              fmt::format("worker {} is {}", to_int(s.id),
                          to_string(p == nullptr ? WorkerState::Exited : p->state))};
    }
  }
  std::vector<std::string> others;
  for (const auto& s : slots_) {
    if (!(*s.spec == *current_spec_)) others.push_back(std::to_string(to_int(s.id)));
  }
  if (!others.empty() && !rollout_) {
    std::string list;
    for (const auto& id : others) list += (list.empty() ? "" : ", ") + id;
    return {HealthState::Mixed,
            fmt::format("worker(s) {} run another program than {} (or other arguments)", list,
                        current_spec_->program)};
  }
  return {};
}

std::vector<WorkerInfo> Supervisor::workers() const {
  std::vector<WorkerInfo> out;
  out.reserve(slots_.size());
  for (const auto& s : slots_) {
    if (s.removing && !s.current) continue;  // removed; its slot waits to be dropped or reused
    WorkerInfo w;
    w.id = s.id;
    w.reason = s.reason;
    w.since = s.since;
    w.restarts = s.restarts;
    w.crash_loop = s.crash_loop;
    w.removing = s.removing;
    w.spec = s.spec;
    if (const Process* p = s.current ? find(*s.current) : nullptr) {
      w.pid = p->pid;
      w.state = p->state;
      w.started = p->started;
      w.status = p->status;
      w.spec = p->spec;
    }
    if (const Process* in = s.incoming ? find(*s.incoming) : nullptr) {
      w.incoming = WorkerInfo::Incoming{in->pid, in->state, in->spec};
    }
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace cservice::supervisor
