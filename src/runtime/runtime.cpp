#include "runtime/runtime.hpp"

#include "base/log.hpp"
#include "os/proc.hpp"
#include "os/signals.hpp"
#include "os/spawn.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <utility>
#include <csignal>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cservice::runtime {
namespace {

// After the last worker is gone, output still in its pipes or queued for the master's stdout and
// stderr is written for at most this long (a grandchild that escaped the process group could
// hold a pipe open forever; nobody may be reading stdout).
constexpr auto kOutputDrainLimit = std::chrono::seconds(2);

supervisor::ExitStatus exit_status(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return supervisor::ExitStatus::exited(info.si_status);
  return supervisor::ExitStatus::killed(info.si_status);
}

// Signals whose default would end the master and that mean nothing to it: logged and ignored
// (signal(7)). SIGWINCH, SIGURG and SIGCONT are ignored by default already.
constexpr std::array kIgnoredSignals = {SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO,
                                        SIGXCPU, SIGXFSZ, SIGPWR,    SIGSTKFLT};

// A SIGTTIN or SIGTTOU that comes while the master is a background job of the terminal on its
// stdin is most likely that terminal's job control, not an operator's request.
bool background_job_of_terminal() {
  if (::isatty(STDIN_FILENO) == 0) return false;
  const pid_t foreground = ::tcgetpgrp(STDIN_FILENO);
  return foreground > 0 && foreground != ::getpgrp();
}

}  // namespace

Result<std::unique_ptr<Runtime>> Runtime::create(config::Options options,
                                                 std::vector<os::ListenSocket> sockets) {
  // Grandchildren whose parent dies are reparented to us, and reaped by reap().
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return os_error("PR_SET_CHILD_SUBREAPER", errno);
  // A closed stdout or client must be an error code, not the death of the master.
  ::signal(SIGPIPE, SIG_IGN);
  // Each worker holds a pidfd and two pipes in the master: a thousand need more than 1024 fds.
  if (auto raised = os::raise_open_file_limit(); !raised) log::warn("{}", raised.error().message);
  std::unique_ptr<Runtime> runtime(new Runtime(std::move(options), std::move(sockets)));
  runtime->output_ = std::make_unique<MasterOutput>(runtime->io_);
  auto notify = NotifySocket::open(
      runtime->io_, runtime->clock_, [r = runtime.get()](PeerCredentials sender, const NotifyMessage& message) {
        r->on_notify(sender, message);
      });
  if (!notify) return notify.error();
  runtime->notify_ = std::move(*notify);
  // Before the spawner copies the environment: the manager's variables are the master's only.
  auto manager = ManagerNotifier::from_environment(runtime->io_);
  if (!manager) return manager.error();
  runtime->manager_ = std::move(*manager);
  runtime->spawner_ = std::make_unique<ProcessSpawner>(
      runtime->io_, runtime->options_, runtime->sockets_, runtime->notify_->address(),
      *runtime->output_, [r = runtime.get()] { r->reap(); },
      [r = runtime.get()] { r->on_output_closed(); });
  runtime->supervisor_ = std::make_unique<supervisor::Supervisor>(
      runtime->options_.policy,
      supervisor::ProgramSpec{runtime->options_.program, runtime->options_.args,
                              runtime->options_.cwd, runtime->options_.cwd_as_named},
      *runtime->spawner_, runtime->clock_, runtime->events_);
  runtime->supervisor_->set_on_schedule([r = runtime.get()] { r->on_schedule(); });
  if (runtime->manager_) {
    log::info("service manager: notifying {}", runtime->manager_->address());
    runtime->events_.subscribe(
        [r = runtime.get()](const supervisor::Event& event) { r->on_event_for_manager(event); });
  }
  return runtime;
}

Runtime::Runtime(config::Options options, std::vector<os::ListenSocket> sockets)
    : options_(std::move(options)),
      sockets_(std::move(sockets)),
      timer_(io_),
      drain_timer_(io_),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      manager_ready_timer_(io_) {
  for (const int signal : {SIGCHLD, SIGQUIT, SIGUSR1, SIGTTIN, SIGTTOU}) signals_.add(signal);
  for (const int signal : kIgnoredSignals) signals_.add(signal);
  for (int signal = SIGRTMIN; signal <= SIGRTMAX; ++signal) signals_.add(signal);
}

Runtime::~Runtime() {
  // Destroy in dependency order: the supervisor uses the spawner, whose Childs kill and reap
  // anything still alive (only after an error; run() returns with no worker left).
  supervisor_.reset();
  spawner_.reset();
}

int Runtime::run() {
  const std::function<void(const boost::system::error_code&, int)> on_signal_handler =
      [this, &on_signal_handler](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        on_signal(signal);
        signals_.async_wait(on_signal_handler);
      };
  signals_.async_wait(on_signal_handler);
  if (manager_) {
    manager_->start_watchdog();
    // Workers that never become ready must not hold the manager's start (and every unit
    // ordered after ours) until its own time-out: after readyTimeoutMs the service is up.
    manager_ready_timer_.expires_after(options_.policy.ready_timeout);
    manager_ready_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || manager_->has_sent_ready() || supervisor_->is_shutting_down()) return;
      const std::string status = manager_status();
      log::warn("service manager: not every worker is ready after readyTimeoutMs={}: READY=1 ({})",
                options_.policy.ready_timeout.count(), status);
      manager_->ready(status);
    });
  }
  supervisor_->start();
  io_.run();
  // The service's outcome, for whoever started the master (a shell, systemd, a container
  // runtime when the master is PID 1): clean only if every process stopped by itself.
  return supervisor_->killed_at_shutdown() > 0 ? 1 : 0;
}

std::function<void()> Runtime::run_program(const RunSpec& spec, ProgramRun::Done done) {
  ++unanswered_programs_;
  auto run = ProgramRun::start(io_, spec, [this, done = std::move(done)](ProgramResult result) {
    done(std::move(result));
    --unanswered_programs_;
    if (finishing_) on_output_closed();
  });
  if (!run->is_running()) return [] {};
  if (finishing_) run->cancel();  // too late: the service is stopping
  std::weak_ptr<ProgramRun> weak = run;
  programs_.emplace(to_int(run->pid()), std::move(run));
  return [weak] {
    if (auto live = weak.lock(); live && live->is_running()) live->cancel();
  };
}

void Runtime::on_signal(int signal) {
  switch (signal) {
    case SIGCHLD: reap(); return;
    case SIGHUP: on_reload_signal(); return;
    case SIGTTIN:
    case SIGTTOU: on_scale_signal(signal); return;
    case SIGUSR1: on_reopen_signal(); return;
    case SIGTERM:
    case SIGINT:
    case SIGQUIT: break;
    default: log::info("{}: ignored", os::signal_name(signal)); return;
  }
  if (signal == SIGINT) ++interrupts_;
  if (!supervisor_->is_shutting_down()) {
    log::info("{}: stopping all workers (stopTimeoutMs={})", os::signal_name(signal),
              options_.policy.stop_timeout.count());
    if (manager_) manager_->stopping();
    supervisor_->shutdown(supervisor::StopMode::Graceful);
  } else if (interrupts_ >= 2) {
    log::warn("second SIGINT: killing all workers now");
    supervisor_->shutdown(supervisor::StopMode::Kill);
  } else {
    log::info("{}: already stopping", os::signal_name(signal));
  }
}

void Runtime::on_reload_signal() {
  if (supervisor_->is_shutting_down()) {
    log::info("SIGHUP: the service is stopping: no restart");
    return;
  }
  if (!reload_) {
    log::info("SIGHUP: ignored (no restart here)");
    return;
  }
  log::info("SIGHUP: rolling restart of every worker");
  if (manager_) manager_->reloading("reloading");
  ++reloads_;
  reload_([this] {
    // The manager waits for READY=1 after RELOADING=1, also when the restart was refused.
    // The restart is over, whether or not its last progress event has been seen yet.
    if (--reloads_ == 0 && manager_ && !supervisor_->is_shutting_down()) {
      operation_status_.clear();
      manager_->ready(manager_status());
    }
  });
}

void Runtime::on_scale_signal(int signal) {
  const std::string name = os::signal_name(signal);
  if (background_job_of_terminal()) {
    // Job control: the master stops as it would by default, until `fg` or SIGCONT.
    log::info("{}: from the terminal of a background job: stopping the master (fg resumes it)",
              name);
    ::raise(SIGSTOP);
    return;
  }
  const bool more = signal == SIGTTIN;
  const auto count = more ? supervisor_->add_worker() : supervisor_->remove_worker();
  if (!count) {
    log::warn("{}: {}: the number of workers stays {}", name, count.error().message,
              supervisor_->worker_target());
    return;
  }
  log::info("{}: one worker {}: {} worker(s) now", name, more ? "more" : "fewer", *count);
}

void Runtime::on_event_for_manager(const supervisor::Event& event) {
  if (event.name == "operation") {
    const auto& data = event.data;
    if (data.value("state", "") == "running") {
      const std::string kind = data.value("kind", "");
      const std::string verb = kind == "restart"    ? "restarting"
                               : kind == "upgrade"  ? "upgrading"
                               : kind == "rollback" ? "rolling back"
                                                    : kind;
      operation_status_ = verb;
      if (data.contains("done") && data["done"].is_number() && data.contains("total") &&
          data["total"].is_number()) {
        operation_status_ += fmt::format(" {}/{}", data["done"].get<std::size_t>(),
                                         data["total"].get<std::size_t>());
      }
    } else {
      operation_status_.clear();
    }
  } else if (!event.name.starts_with("worker")) {
    return;
  }
  // Reported after the entry that raised the event: the supervisor's view is whole then.
  if (manager_report_posted_) return;
  manager_report_posted_ = true;
  boost::asio::post(io_, [this] {
    manager_report_posted_ = false;
    report_to_manager();
  });
}

std::string Runtime::manager_status() const {
  const auto workers = supervisor_->workers();
  const auto ready = std::count_if(workers.begin(), workers.end(), [](const auto& w) {
    return w.pid && w.state == supervisor::WorkerState::Ready;
  });
  std::string status =
      fmt::format("{}/{} workers ready", ready, supervisor_->worker_target());
  return operation_status_.empty() ? status : operation_status_ + ", " + status;
}

void Runtime::report_to_manager() {
  if (!manager_ || finishing_) return;
  if (supervisor_->is_shutting_down()) {
    manager_->stopping();
    return;
  }
  const std::string status = manager_status();
  if (!manager_->has_sent_ready()) {
    const auto workers = supervisor_->workers();
    const bool all_ready = std::all_of(workers.begin(), workers.end(), [](const auto& w) {
      return w.pid && w.state == supervisor::WorkerState::Ready;
    });
    if (all_ready && workers.size() >= supervisor_->worker_target()) {
      log::info("service manager: READY=1 ({})", status);
      manager_->ready(status);
      manager_ready_timer_.cancel();
      return;
    }
  }
  manager_->status(status);
}

void Runtime::on_reopen_signal() {
  if (!options_.daemon) {
    log::info("SIGUSR1: no log file to reopen (the output goes to stderr as it was given)");
    return;
  }
  // The last line of the old file says where the next ones are; the first of the new one, why.
  log::info("SIGUSR1: reopening log file {}", options_.log_file);
  if (auto reopened = output_->reopen(options_.log_file); !reopened) {
    log::warn("SIGUSR1: {}; still writing to the file opened before", reopened.error().message);
    return;
  }
  log::info("SIGUSR1: reopened log file {}", options_.log_file);
}

void Runtime::shutdown(supervisor::StopMode mode, std::optional<Milliseconds> stop_timeout) {
  if (mode == supervisor::StopMode::Kill || !supervisor_->is_shutting_down() || stop_timeout) {
    log::info("stopping all workers{}",
              mode == supervisor::StopMode::Kill
                  ? " now (SIGKILL)"
                  : fmt::format(" (SIGKILL after {} ms)",
                                stop_timeout.value_or(options_.policy.stop_timeout).count()));
    if (manager_) manager_->stopping();
    supervisor_->shutdown(mode, stop_timeout);
  }
}

void Runtime::on_notify(PeerCredentials sender, const NotifyMessage& message) {
  const auto found = worker_of(sender);
  if (!found) return;  // not ours: ignored
  const Pid worker = *found;
  if (message.status) supervisor_->on_status(worker, *message.status);
  if (message.not_ready) supervisor_->on_not_ready(worker);
  if (message.extend_timeout) supervisor_->on_extend_timeout(worker, *message.extend_timeout);
  if (message.watchdog) supervisor_->on_not_ready(worker);
  if (message.ready) supervisor_->on_ready(worker);
  if (message.stopping) supervisor_->on_stopping(worker);
}

std::optional<Pid> Runtime::worker_of(PeerCredentials sender) const {
  // Ancestry, not the process group: any process in the master's session may join a worker's
  // group with setpgid(2), whatever its user, but none can make itself a worker's descendant.
  constexpr int kMaxDepth = 64;
  const Pid master{::getpid()};
  Pid pid = sender.pid;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    if (supervisor_->is_worker(pid)) {
      if (pid == sender.pid) return pid;
      // A descendant that runs as another user (a setuid program) does not speak for it.
      const auto worker_uid = os::effective_uid(pid);
      if (worker_uid && *worker_uid == sender.uid) return pid;
      return std::nullopt;
    }
    const auto parent = os::parent_of(pid);
    if (!parent || to_int(*parent) <= 1 || *parent == master) return std::nullopt;
    pid = *parent;
  }
  return std::nullopt;
}

void Runtime::reap() {
  bool reaped_ours = false;
  for (;;) {
    // Peek first: while the worker is an unreaped zombie its process group id cannot be reused,
    // so what is left in its group (children it abandoned) can be killed safely.
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: no children at all
    }
    if (info.si_pid == 0) break;
    const Pid pid{info.si_pid};
    const bool worker = spawner_->is_child(pid);
    const bool adopted = !worker && supervisor_->is_known(pid);
    const auto program = programs_.find(info.si_pid);
    if (worker || adopted || program != programs_.end()) ::kill(-info.si_pid, SIGKILL);
    siginfo_t reaped{};
    while (::waitid(P_PID, static_cast<id_t>(info.si_pid), &reaped, WEXITED | WNOHANG) != 0 &&
           errno == EINTR) {
    }
    if (worker || adopted) {
      if (worker) spawner_->forget(pid);
      supervisor_->on_exited(pid, exit_status(reaped));
      reaped_ours = true;
    } else if (program != programs_.end()) {
      const auto run = program->second;
      programs_.erase(program);
      run->on_exited(exit_status(reaped));
      reaped_ours = true;  // it may have left descendants outside its group, as a worker may
    } else {
      log::info("reaped orphan pid {} ({})", info.si_pid, exit_status(reaped).describe());
    }
  }
  // A worker or descendant that has just gone may have left descendants of its own to us.
  if (reaped_ours && !finishing_) adopt_orphans(supervisor_->is_shutting_down());
}

std::size_t Runtime::adopt_orphans(bool all) {
  std::size_t adopted = 0;
  for (const Pid pid : os::own_children()) {
    if (spawner_->is_child(pid) || supervisor_->is_known(pid) || programs_.contains(to_int(pid))) {
      continue;
    }
    const auto pid_in = [pid](std::string_view variable) -> std::optional<Pid> {
      const auto value = os::environment_value(pid, variable);
      if (!value) return std::nullopt;
      pid_t number = 0;
      const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), number);
      if (ec != std::errc() || end != value->data() + value->size()) return std::nullopt;
      return Pid{number};
    };
    const std::optional<Pid> worker = pid_in(kWorkerPidVariable);
    // A descendant of a program run (a test script, a directory command) that escaped its group:
    // it lives as long as that program, then is stopped as a worker's would be.
    if (const auto program = pid_in(kProgramPidVariable); !worker && program) {
      if (!all && programs_.contains(to_int(*program))) continue;
      supervisor_->adopt_orphan(pid, std::nullopt);
      ++adopted;
      continue;
    }
    if (!all) {
      // Still in its worker's process group: killed with it (the reaper just did), not escaped.
      if (worker && ::getpgid(to_int(pid)) == to_int(*worker)) continue;
      // Not known to descend from a worker (its environment cleared, or a library master's own
      // child): left alone until the service stops.
      if (!worker) continue;
      // Its worker still runs: it lives as long as that worker. A descendant is never older
      // than its ancestor, so an older process names a worker pid that has been recycled.
      if (supervisor_->is_worker(*worker)) {
        const auto born = os::start_ticks(pid);
        const auto worker_born = os::start_ticks(*worker);
        if (!born || !worker_born || *born >= *worker_born) continue;
      }
    }
    supervisor_->adopt_orphan(pid, worker);
    ++adopted;
  }
  return adopted;
}

void Runtime::on_schedule() {
  if (finishing_) return;
  if (supervisor_->is_finished()) {
    // The last worker is gone: what it left behind is stopped too before the master exits.
    if (adopt_orphans(/*all=*/true) > 0) return;
    finish();
    return;
  }
  if (const auto deadline = supervisor_->next_deadline()) {
    timer_.expires_at(*deadline);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;  // re-armed or cancelled
      supervisor_->on_timer();
    });
  } else {
    timer_.cancel();
  }
}

void Runtime::finish() {
  if (finishing_) return;
  finishing_ = true;
  timer_.cancel();
  if (const auto killed = supervisor_->killed_at_shutdown(); killed > 0) {
    log::warn("all workers stopped; {} process(es) outlived the stop timeout and were killed "
              "(exit status 1)",
              killed);
  } else {
    log::info("all workers stopped");
  }
  // Let the relays write out what the workers left in their pipes, and the sinks what they have
  // queued, within a bound: stdout may be a pipe nobody reads.
  drain_timer_.expires_after(kOutputDrainLimit);
  drain_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) stop_loop();
  });
  // Programs still running (a test without a time-out) end with the service, and are answered
  // while the loop still runs: an answer given after it would find its caller gone.
  for (const auto& [pid, run] : programs_) run->cancel();
  for (const auto& hook : finish_hooks_) {
    ++unfinished_hooks_;
    hook([this, called = false]() mutable {
      if (std::exchange(called, true)) return;
      --unfinished_hooks_;
      on_output_closed();
    });
  }
  on_output_closed();
}

void Runtime::on_output_closed() {
  if (finishing_ && spawner_->open_relays() == 0 && unanswered_programs_ == 0 &&
      unfinished_hooks_ == 0) {
    output_->when_flushed([this] { stop_loop(); });
  }
}

void Runtime::stop_loop() {
  drain_timer_.cancel();
  manager_ready_timer_.cancel();
  signals_.cancel();
  notify_.reset();
  manager_.reset();
  io_.stop();
}

}  // namespace cservice::runtime
