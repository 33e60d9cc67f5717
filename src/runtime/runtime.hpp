#pragma once
// Runtime is the Asio shell around the Supervisor: it owns the master's one io_context, the
// notify socket, the process spawner, the reaper (pidfd wakes and SIGCHLD), the one timer armed
// at the supervisor's next deadline, and the master's signals. Each of these turns into one
// Supervisor call. The signals follow nginx and gunicorn:
//   SIGTERM, SIGINT, SIGQUIT  graceful stop (a second SIGINT: SIGKILL everything)
//   SIGHUP                    rolling restart of every worker (the reload hook: `restart all`)
//   SIGTTIN / SIGTTOU         one worker more / fewer (never fewer than one); as a background
//                             job of its terminal, the job control stop they stand for there
//   SIGUSR1                   a daemon reopens its log file
//   every other signal whose default would end the master (SIGUSR2, SIGALRM, SIGVTALRM,
//   SIGPROF, SIGPOLL, SIGXCPU, SIGXFSZ, SIGPWR, SIGSTKFLT, real-time signals): logged, ignored.
//   Faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS) and SIGABRT keep their defaults.
// As a systemd service (NOTIFY_SOCKET), the runtime tells its manager how the service is
// (manager_notifier.hpp): READY=1 once every initial worker is ready, or after readyTimeoutMs
// whatever their state; STATUS= on changes; RELOADING=1 then READY=1 around a SIGHUP restart;
// STOPPING=1 as the stop begins; WATCHDOG=1 pings when WATCHDOG_USEC asks for them.
// The timer is re-armed by the supervisor's on_schedule hook, which runs after every entry into
// the supervisor, whoever made it (these events, commands, library code).
//
// The master is a child subreaper: a worker's descendant that left its process group (setsid, a
// daemon's double fork) is reparented to it when its parent dies. After each reaped process the
// runtime looks for such orphans among its children: one whose CSERVICE_WORKER_PID names a
// worker that is gone is handed to the supervisor to be stopped; once the service is stopping
// and no worker is left, every remaining child is.
// Single-threaded: everything runs on the thread that calls run().

#include "base/clock.hpp"
#include "config/options.hpp"
#include "os/listen_socket.hpp"
#include "runtime/manager_notifier.hpp"
#include "runtime/master_output.hpp"
#include "runtime/notify_socket.hpp"
#include "runtime/process_spawner.hpp"
#include "runtime/program_run.hpp"
#include "supervisor/event_bus.hpp"
#include "supervisor/supervisor.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <vector>

namespace cservice::runtime {

class Runtime {
 public:
  // Makes the master a child subreaper, raises its open-file limit, opens the notify socket and
  // routes the master's log through its non-blocking stderr (until the runtime is destroyed).
  // Workers start in run().
  static Result<std::unique_ptr<Runtime>> create(config::Options options,
                                                 std::vector<os::ListenSocket> sockets);
  ~Runtime();

  supervisor::EventBus& events() { return events_; }
  supervisor::Supervisor& supervisor() { return *supervisor_; }
  const Clock& clock() const { return clock_; }
  boost::asio::io_context& io() { return io_; }

  // Stops every worker (as SIGTERM does), or with Kill at once (as a second SIGINT); the loop
  // ends when they are gone.
  // `stop_timeout` (default stopTimeoutMs) is the time each gets before SIGKILL.
  void shutdown(supervisor::StopMode mode,
                std::optional<Milliseconds> stop_timeout = std::nullopt);

  // Adds KEY=value to the environment of every worker (call before run()).
  void add_worker_env(const std::string& key, const std::string& value) {
    spawner_->add_env(key, value);
  }
  // The worker that `sender` speaks for: a worker itself, or a descendant of one that runs as
  // the worker's user (a shell worker's systemd-notify). nullopt for anyone else, whatever
  // process group it joined.
  std::optional<Pid> worker_of(PeerCredentials sender) const;

  // Runs a short-lived program (a directory command, a test) on the loop; `done` gets its
  // outcome. The runtime's reaper collects it, as it does workers. One still running when the
  // last worker has gone is killed, and the loop ends after its `done` has run (or when the
  // output drain limit is reached). Returns a function that kills it early (its `done` still
  // runs, with the status the kill gave it); calling it once the run is over does nothing.
  std::function<void()> run_program(const RunSpec& spec, ProgramRun::Done done);

  // SIGHUP: `reload` starts a rolling restart of every worker and calls `done` once it is over,
  // whatever its outcome (also when it is refused). serve() sets it (the `restart all` command);
  // without it SIGHUP is logged and ignored.
  using Reload = std::function<void(std::function<void()> done)>;
  void set_on_reload(Reload reload) { reload_ = std::move(reload); }

  // Adds a step to the end of the service: once every worker is gone, `hook` runs, and the loop
  // stops only after it has called its `done` (or the output drain limit has passed), so that
  // it may still write on the loop (the event streams' last chunk). Call before run().
  using FinishHook = std::function<void(std::function<void()> done)>;
  void on_finish(FinishHook hook) { finish_hooks_.push_back(std::move(hook)); }

  // Starts the workers and runs the loop until every worker has stopped after a stop signal.
  // Returns the master's exit status: 0 when every process of the service stopped by itself
  // (or was killed on request: `exit now`, a second SIGINT), 1 when some outlived the stop
  // timeout and were killed.
  int run();

 private:
  Runtime(config::Options options, std::vector<os::ListenSocket> sockets);
  void on_notify(PeerCredentials sender, const NotifyMessage& message);
  void reap();
  void on_signal(int signal);
  void on_reload_signal();
  void on_scale_signal(int signal);  // SIGTTIN, SIGTTOU
  // The service manager's view (NOTIFY_SOCKET): events change it, reported once the entry that
  // raised them has finished.
  void on_event_for_manager(const supervisor::Event& event);
  void report_to_manager();
  std::string manager_status() const;  // "4/4 workers ready", "restarting 2/4, 3/4 workers ready"
  // SIGUSR1: a daemon reopens its log file (rename-then-signal rotation); otherwise it is logged
  // that there is nothing to reopen.
  void on_reopen_signal();
  void on_schedule();  // re-arms the timer; finishes the loop when the supervisor is done
  // Hands the orphans among our children to the supervisor: those whose worker is gone, or
  // with `all`, every child that is not a worker or command. Returns how many.
  std::size_t adopt_orphans(bool all);
  void finish();  // the last worker is gone: drain pipes and output queues, then stop the loop
  void on_output_closed();
  void stop_loop();

  // Declared before io_, so they outlive it: destroying io_ destroys the handlers still queued,
  // and a command's Reply among them answers "internal error", which its audit publishes as an
  // event (on a freed bus, and so a crash at exit, when these were declared after io_).
  SteadyClock clock_;
  supervisor::EventBus events_;
  boost::asio::io_context io_;
  config::Options options_;
  std::vector<os::ListenSocket> sockets_;
  std::unique_ptr<NotifySocket> notify_;
  std::unique_ptr<ManagerNotifier> manager_;  // null unless the master has a NOTIFY_SOCKET
  std::unique_ptr<MasterOutput> output_;  // stdout, stderr and the master's log; outlives spawner_
  std::unique_ptr<ProcessSpawner> spawner_;
  std::unique_ptr<supervisor::Supervisor> supervisor_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer drain_timer_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer manager_ready_timer_;  // READY=1 at readyTimeoutMs at the latest
  Reload reload_;
  int reloads_ = 0;                   // SIGHUP restarts not yet over
  bool manager_report_posted_ = false;
  std::string operation_status_;      // "restarting 2/4" while an operation runs
  std::map<pid_t, std::shared_ptr<ProgramRun>> programs_;  // running, by pid
  std::size_t unanswered_programs_ = 0;  // started, `done` not yet called: the loop waits for them
  std::vector<FinishHook> finish_hooks_;
  std::size_t unfinished_hooks_ = 0;  // finish hooks that have not called `done` yet
  int interrupts_ = 0;
  bool finishing_ = false;
};

}  // namespace cservice::runtime
