// The Supervisor's rollouts: rolling restart, upgrade and their rollback (rollout.hpp has the
// phases). The slot lifecycle they build on is in supervisor.cpp.

#include "base/log.hpp"
#include "supervisor/supervisor.hpp"

namespace cservice::supervisor {

Result<void> Supervisor::begin_rollout(RolloutRequest request, Completion done) {
  const Entry entry(*this);
  if (shutting_down_) return make_error(errc::busy, "busy: the service is shutting down");
  if (rollout_) {
    return make_error(errc::busy,
                      fmt::format("busy: '{}' is running", rollout_->request.description));
  }
  Rollout r;
  if (request.only) {
    const Process* p = find(*request.only);
    if (p == nullptr || p->role != Role::Current) {
      return make_error(errc::not_found,
                        fmt::format("no worker has pid {}", to_int(*request.only)));
    }
    r.pending.push_back(p->slot);
  } else {
    // Slots without a process (stopped for good with `shutdown PID`, given up in a crash loop)
    // stay as they are: `start` brings them back.
    for (const auto& s : slots_) {
      if (s.current && !s.removing) r.pending.push_back(s.id);
    }
  }
  if (request.program) r.program = std::make_shared<const ProgramSpec>(*request.program);
  for (const WorkerId id : r.pending) r.target[id] = r.program ? r.program : slot(id).spec;
  r.batch = batch_for(r.pending.size(), request.batch);
  r.stop_timeout = request.stop_timeout.value_or(policy_.stop_timeout);
  r.monitor = request.monitor.value_or(policy_.upgrade_monitor);
  r.canary = request.reason != Reason::Restart;
  r.stage = r.canary ? RolloutStage::Canary : RolloutStage::Replace;
  r.baked = request.bake.count() == 0;
  r.serial = ++rollout_serial_;
  r.done = std::move(done);
  r.request = std::move(request);
  log::info("{}: replacing {} worker(s), {} at a time{}{}", r.request.description,
            r.pending.size(), r.batch,
            r.request.test ? fmt::format(", gated by {}", r.request.test_name) : "",
            r.baked ? "" : fmt::format(", baking {} ms", r.request.bake.count()));
  rollout_ = std::move(r);
  report_progress();
  pump_rollout();
  return {};
}

std::size_t Supervisor::batch_for(std::size_t n, std::optional<std::size_t> asked) const {
  if (asked) return std::clamp<std::size_t>(*asked, 1, std::max<std::size_t>(n, 1));
  return rollout_batch_size(n, policy_.restart_concurrency_ratio);
}

void Supervisor::enter_stage(RolloutStage stage) {
  rollout_->stage = stage;
  report_progress();
}

void Supervisor::report_progress() {
  if (rollout_ && rollout_->request.on_progress) rollout_->request.on_progress(rollout_->progress());
}

void Supervisor::pump_rollout() {
  while (rollout_ && rollout_->active.size() < rollout_->limit() && !rollout_->pending.empty()) {
    const WorkerId id = rollout_->pending.front();
    rollout_->pending.pop_front();
    start_replacement(slot(id));
  }
  finish_rollout_if_done();
}

void Supervisor::start_replacement(Slot& s) {
  Rollout& r = *rollout_;
  const SpecPtr spec = r.target.at(s.id);
  const Reason reason = r.phase == Rollout::Phase::Forward ? r.request.reason : Reason::Rollback;
  // The replacement is also the restart of a slot whose process has died meanwhile.
  s.restart_at.reset();
  auto spawned = spawn(s, spec, Role::Incoming, reason);
  if (!spawned) {
    rollout_failed(fmt::format("worker {}: {}", to_int(s.id), spawned.error().message));
    return;
  }
  Process& p = **spawned;
  r.active.insert(s.id);
  s.incoming = p.pid;
  log::info("{}: starting ({}, {})", name_of(p), to_string(reason), spec->program);
  if (policy_.ready_mode == ReadyMode::Started) become_ready(p, "started");
}

void Supervisor::replacement_ready(Process& p, std::string_view why) {
  log::info("{}: ready ({})", name_of(p), why);
  p.state = WorkerState::Ready;
  publish_ready(p);
  if (!rollout_) return;
  Rollout& r = *rollout_;
  if (r.canary) {
    // On trial: it serves beside the old worker until the monitor period has passed (and the
    // test gate, if any, has passed while it serves).
    r.monitor_until = clock_.now() + r.monitor;
    log::info("{}: watching the first upgraded worker for {} ms", name_of(p), r.monitor.count());
    enter_stage(RolloutStage::Monitor);
    // The worker it was to replace died meanwhile: it serves in its place at once, still on
    // trial (a failure later rolls it back like any replaced worker).
    if (!slot_of(p).current) take_over_on_trial(slot_of(p));
    return;
  }
  r.active.erase(p.slot);
  promote(slot_of(p));
  pump_rollout();
}

void Supervisor::take_over_on_trial(Slot& s) {
  Rollout& r = *rollout_;
  r.active.erase(s.id);
  promote(s);
}

void Supervisor::monitor_over() {
  Rollout& r = *rollout_;
  r.monitor_until.reset();
  if (!r.request.test) {
    end_trial();
    return;
  }
  log::info("{}: the first upgraded worker passed its {} ms trial; running {}",
            r.request.description, r.monitor.count(), r.request.test_name);
  enter_stage(RolloutStage::Test);
  const std::uint64_t serial = r.serial;
  r.testing = true;
  // The gate answers later, on the loop, as a new entry (or at once, if it cannot even start);
  // a verdict for a rollout that has ended (cancelled, failed, another one since) is ignored.
  auto stop = r.request.test([this, serial](Result<void> verdict) {
    const Entry entry(*this);
    if (!rollout_ || rollout_->serial != serial || !rollout_->testing) return;
    rollout_->testing = false;
    rollout_->stop_test = nullptr;
    if (!verdict) {
      // The verdict's first line says why; the rest (the test's output) ends the answer.
      const std::string& text = verdict.error().message;
      const auto newline = text.find('\n');
      if (newline != std::string::npos) rollout_->failure_detail = text.substr(newline + 1);
      rollout_failed(text.substr(0, newline));
      return;
    }
    log::info("{}: {} passed", rollout_->request.description, rollout_->request.test_name);
    end_trial();
  });
  if (rollout_ && rollout_->serial == serial && rollout_->testing) {
    rollout_->stop_test = std::move(stop);
  }
}

void Supervisor::end_trial() {
  Rollout& r = *rollout_;
  r.monitor_until.reset();
  r.canary = false;
  log::info("{}: the first upgraded worker passed its trial", r.request.description);
  enter_stage(RolloutStage::Replace);
  for (const WorkerId id : std::vector<WorkerId>(r.active.begin(), r.active.end())) {
    Slot& s = slot(id);
    const Process* in = s.incoming ? find(*s.incoming) : nullptr;
    if (in != nullptr && in->state == WorkerState::Ready) {
      r.active.erase(id);
      promote(s);
    }
  }
  pump_rollout();
}

void Supervisor::bake_over() {
  Rollout& r = *rollout_;
  r.bake_until.reset();
  r.baked = true;
  log::info("{}: the new workers served {} ms without a failure", r.request.description,
            r.request.bake.count());
  finish_rollout_if_done();
}

void Supervisor::promote(Slot& s) {
  Rollout& r = *rollout_;
  Process& in = processes_.at(*s.incoming);
  s.incoming.reset();
  Rollout::Replaced entry{s.id, s.current, in.pid, s.spec, in.spec};
  if (Process* old = current_of(s)) {
    const Pid old_pid = old->pid;
    retire(*old, in.reason, r.stop_timeout, StopMode::Graceful);
    r.retiring.insert(old_pid);
  }
  (r.phase == Rollout::Phase::Forward ? r.replaced : r.restored).push_back(entry);
  in.role = Role::Current;
  s.current = in.pid;
  s.spec = in.spec;
  s.reason = in.reason;
  s.since = clock_.now();
  s.crash_loop = false;
  s.restart_at.reset();
  s.history.clear();
  log::info("{}: took over{}", name_of(in),
            entry.old_pid ? fmt::format(" from pid {}", to_int(*entry.old_pid)) : "");
  report_progress();
}

void Supervisor::replacement_failed(const Process& p, const std::string& why) {
  if (!rollout_) return;
  rollout_->active.erase(p.slot);
  const char* when = p.state == WorkerState::Starting ? " before it was ready"
                     : rollout_->canary               ? " while on trial"
                                                      : "";
  rollout_failed(fmt::format("worker {}: the new process (pid {}) {}{}", to_int(p.slot),
                             to_int(p.pid), why, why.starts_with("exited") ? when : ""));
}

void Supervisor::replaced_worker_exited(const Process& p, ExitStatus status) {
  Rollout& r = *rollout_;
  if (r.phase != Rollout::Phase::Forward) return;  // during a rollback: an ordinary failure
  for (const auto& done : r.to_put_back()) {
    if (done.new_pid == p.pid) {
      rollout_failed(
          fmt::format("worker {}: the new process (pid {}) exited ({}) after it took "
                      "over",
                      to_int(p.slot), to_int(p.pid), status.describe()));
      return;
    }
  }
}

void Supervisor::stop_gate_and_timers(Rollout& r) {
  r.testing = false;
  if (auto stop = std::exchange(r.stop_test, nullptr)) stop();
  r.monitor_until.reset();
  r.bake_until.reset();
}

void Supervisor::rollout_failed(const std::string& why) {
  Rollout& r = *rollout_;
  stop_gate_and_timers(r);
  if (r.phase == Rollout::Phase::Forward) r.failed_stage = r.stage;
  // Replacements still starting are stopped; the workers they were to replace keep serving.
  for (const WorkerId id : r.active) {
    Slot& s = slot(id);
    if (Process* in = s.incoming ? find(*s.incoming) : nullptr) {
      retire(*in, Reason::Failure, policy_.stop_timeout, StopMode::Graceful);
    }
  }
  r.active.clear();
  r.pending.clear();
  r.monitor_until.reset();
  r.canary = false;
  if (r.phase == Rollout::Phase::RollingBack) {
    Rollout failed = std::move(*rollout_);
    rollout_.reset();
    const std::string message = failed.failure_message(why);
    log::error("{}", message);
    if (failed.done) failed.done(make_error(errc::failed, message));
    return;
  }
  r.failure = why;
  const auto back = r.to_put_back();
  if (back.empty()) {
    Rollout failed = std::move(*rollout_);
    rollout_.reset();
    const std::string message = failed.failure_message();
    log::error("{}", message);
    if (failed.done) failed.done(make_error(errc::failed, message));
    return;
  }
  r.phase = Rollout::Phase::RollingBack;
  r.stage = RolloutStage::RollingBack;
  log::error("{} failed at stage {}: {}; rolling back {} worker(s)", r.request.description,
             to_string(r.failed_stage), why, back.size());
  for (const auto& b : back) {
    Slot& s = slot(b.slot);
    r.target[s.id] = b.previous;
    if (s.current) {
      r.pending.push_back(s.id);
    } else {
      s.spec = b.previous;  // its restart runs the previous program
      r.restarting.push_back(s.id);
    }
  }
  r.batch = batch_for(r.pending.size(), r.request.batch);
  report_progress();
  pump_rollout();
}

Result<void> Supervisor::cancel_rollout(const std::string& why) {
  const Entry entry(*this);
  if (!rollout_) return make_error(errc::not_found, "no rollout is running");
  if (rollout_->phase == Rollout::Phase::RollingBack) {
    return make_error(errc::busy, fmt::format("'{}' is already rolling back",
                                              rollout_->request.description));
  }
  rollout_failed(why);
  return {};
}

void Supervisor::abandon_rollout(const std::string& why) {
  Rollout r = std::move(*rollout_);
  rollout_.reset();
  r.shutting_down = shutting_down_;
  stop_gate_and_timers(r);
  if (r.phase == Rollout::Phase::Forward) r.failed_stage = r.stage;
  for (const WorkerId id : r.active) {
    Slot& s = slot(id);
    if (Process* in = s.incoming ? find(*s.incoming) : nullptr) {
      retire(*in, Reason::Shutdown, policy_.stop_timeout, StopMode::Graceful);
    }
  }
  r.failure = why;
  const std::string message = r.failure_message();
  log::error("{}", message);
  if (r.done) r.done(make_error(errc::failed, message));
}

void Supervisor::finish_rollout_if_done() {
  if (!rollout_) return;
  Rollout& current = *rollout_;
  if (current.phase == Rollout::Phase::Forward && current.all_replaced() && !current.baked &&
      !current.bake_until) {
    // Every slot runs the new program: watch the whole fleet before calling it done.
    current.bake_until = clock_.now() + current.request.bake;
    log::info("{}: every worker replaced; baking for {} ms", current.request.description,
              current.request.bake.count());
    enter_stage(RolloutStage::Bake);
    return;
  }
  if (!current.is_over()) return;
  Rollout r = std::move(*rollout_);
  rollout_.reset();
  if (r.phase == Rollout::Phase::RollingBack) {
    const std::string message = r.failure_message();
    log::error("{}", message);
    if (r.done) r.done(make_error(errc::failed, message));
    return;
  }
  if (r.program && !r.request.only && !(*r.program == *current_spec_)) {
    previous_spec_ = std::exchange(current_spec_, r.program);
  }
  log::info("{}: done, {} worker(s) replaced", r.request.description, r.replaced.size());
  if (r.done) r.done(r.summary());
}

}  // namespace cservice::supervisor
