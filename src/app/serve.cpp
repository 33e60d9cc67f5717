// Serve mode: bind the listening sockets, start the runtime and, with an access key, the REST
// API on the same loop.

#include "app/command_environment.hpp"
#include "app/console.hpp"
#include "app/daemon.hpp"
#include "app/modes.hpp"
#include "app/running.hpp"
#include "app/test_runner.hpp"
#include "app/version.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include "commands/directory.hpp"
#include "commands/operations.hpp"
#include "commands/registry.hpp"
#include "control/control_plane.hpp"
#include "control/http_client.hpp"
#include "control/http_server.hpp"
#include "control/probe_routes.hpp"
#include "control/worker_channel.hpp"
#include "os/journal.hpp"
#include "metrics/metrics_collector.hpp"
#include "metrics/readiness.hpp"
#include "os/trusted_path.hpp"
#include "runtime/runtime.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace cservice::app {
namespace {

// RSS and CPU time of a process, from /proc/<pid>/stat.
std::optional<commands::ProcessStats> read_process_stats(Pid pid) {
  std::ifstream file("/proc/" + std::to_string(to_int(pid)) + "/stat");
  std::string text;
  if (!std::getline(file, text)) return std::nullopt;
  // Fields after the command name, which may itself hold spaces and parentheses.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  std::vector<std::string> values;
  for (std::string field; fields >> field;) values.push_back(field);
  // utime and stime are fields 14 and 15, rss 24 (1-based in proc(5); here 3 fewer).
  if (values.size() < 22) return std::nullopt;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double cpu = (std::stod(values[11]) + std::stod(values[12])) / ticks;
  const auto pages = std::stoull(values[21]);
  return commands::ProcessStats{pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)), cpu};
}

// Adds a command for each program of the commands directories, run by `rt`.
Result<void> add_directory_commands(const config::Options& options, runtime::Runtime& rt,
                                    const controlplane::HttpServer* http,
                                    commands::Registry& registry) {
  // A directory command runs as the master's user: no other user may choose what runs, by
  // writing a command, its directory or one above it (as sshd's StrictModes refuses such files).
  std::vector<std::string> directories;
  for (const auto& directory : options.command_dirs) {
    auto trusted = os::trusted_directory("commands directory", directory);
    if (!trusted) return trusted.error();
    directories.push_back(std::move(*trusted));
  }
  auto programs = commands::scan_command_directories(directories);
  if (!programs) return programs.error();
  for (const auto& program : *programs) {
    struct stat info {};
    if (::stat(program.path.c_str(), &info) != 0) return os_error(program.path, errno);
    if (auto safe = os::check_not_writable_by_others("command", program.path, info.st_mode,
                                                     info.st_uid, info.st_gid);
        !safe) {
      return safe.error();
    }
  }
  auto env = std::make_shared<const std::vector<std::string>>(command_environment(options, http));
  const Milliseconds timeout = options.command_timeout;
  auto runner = [&rt, env, timeout](const std::string& path, std::vector<std::string> args,
                                    std::function<void(commands::ProgramOutcome)> done) {
    rt.run_program({path, std::move(args), *env, timeout},
                   [done = std::move(done)](runtime::ProgramResult result) {
                     done({result.status, result.timed_out, std::move(result.out),
                           std::move(result.err), std::move(result.start_error),
                           result.truncated});
                   });
  };
  for (const auto& program : *programs) {
    registry.add(commands::directory_command(program, timeout, runner));
    log::info("command {} from {}", program.name, program.path);
  }
  return {};
}

// The service's lines: as `logFormat` says, with priority prefixes when stderr is the journal.
void use_log_format(const config::Options& options) {
  log::set_style({.format = options.log_format, .journal = os::is_journal_stream(STDERR_FILENO)});
}

}  // namespace

int serve(const config::Options& options, const ServeHooks& hooks) {
  // However a key reaches a log line (a command's error text, a misspelled parameter), it is not
  // written there.
  for (const auto& access_key : options.control.keys) log::redact(access_key.secret);
  const std::string key = options.control.keys.empty() ? "" : options.control.keys.front().secret;
  if (!key.empty() && options.control.port != 0) {
    // The seed's piping: if a service already answers on the control port, become its console
    // rather than a second service.
    // With `ssl`, over HTTPS, trusting the certificate this service would serve: the key is
    // sent only to a service that holds it.
    const auto tls = client_tls(options.control, "", false);
    auto probe = controlplane::send_command(options.control.host, options.control.port, key,
                                            "version", std::chrono::milliseconds(500), tls);
    // Only a service that knows our key: another server on the port (or a service with another
    // key) is an address in use, reported when binding it below.
    if (probe && probe->status == 200) {
      if (options.daemon) {
        log::error("a service already owns the control port {}:{}: a daemon cannot be its "
                   "console (stop it first, or give another port)",
                   options.control.host, options.control.port);
        return kExitUsage;
      }
      return attached_console(options.control.host, options.control.port, key, tls);
    }
  }
  // From here on this process is the service (an attached console talks to a person, plainly).
  use_log_format(options);
  std::unique_ptr<Daemon> daemon;
  if (options.daemon) {
    daemon = Daemon::detach(options);
    if (daemon->is_parent()) return daemon->parent_status();
    use_log_format(options);  // stderr is the log file now
  }
  // A start-up failure: one line, to the terminal (through the waiting command, as a daemon).
  const auto fail = [&daemon](int status, const std::string& message) {
    log::error("{}", message);
    if (daemon) daemon->report(false, message);
    return status;
  };

  // Sockets a service manager passed us (socket activation) come first, from fd 3 on, then the
  // --listen ones.
  auto inherited = os::inherited_sockets();
  if (!inherited) return fail(kExitUsage, inherited.error().message);
  std::vector<os::ListenSocket> sockets = std::move(*inherited);
  const std::size_t activated = sockets.size();
  for (const auto& endpoint : options.listen) {
    auto socket = os::ListenSocket::open(endpoint);
    if (!socket) return fail(kExitUsage, socket.error().message);
    sockets.push_back(std::move(*socket));
  }
  for (std::size_t i = 0; i < sockets.size(); ++i) {
    log::info("listening on {} (name {}{})", sockets[i].address(), sockets[i].endpoint().name,
              i < activated ? ", from the service manager" : "");
  }
  auto runtime = runtime::Runtime::create(options, std::move(sockets));
  if (!runtime) return fail(kExitFailure, runtime.error().message);
  (*runtime)->events().subscribe([](const supervisor::Event& event) {
    // The name and data may come from a worker (worker channel) or library code: the name
    // escaped, bad UTF-8 in the data replaced rather than thrown on.
    log::info("event {} {}", sanitize_text(event.name),
              event.data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  });

  runtime::Runtime& rt = **runtime;
  commands::Registry registry;
  commands::add_builtins(registry);
  for (const auto& [name, level] : options.control.levels) registry.override_level(name, level);
  commands::Context context{rt.supervisor(), rt.clock(), rt.clock().now(), kVersion,
                            read_process_stats,
                            [&rt](bool force, std::optional<Milliseconds> stop_timeout) {
                              // After the answer already queued on the loop has been written.
                              boost::asio::post(rt.io(), [&rt, force, stop_timeout] {
                                rt.shutdown(force ? supervisor::StopMode::Kill
                                                  : supervisor::StopMode::Graceful,
                                            stop_timeout);
                              });
                            }};
  // Every entry point runs commands with this one context: one record of operations for all.
  commands::Operations operations(rt.clock(), rt.events());
  context.operations = &operations;
  context.after = [&rt](Milliseconds delay, std::function<void()> fire) {
    auto timer = std::make_shared<boost::asio::steady_timer>(rt.io(), delay);
    timer->async_wait([timer, fire = std::move(fire)](const boost::system::error_code& ec) {
      if (!ec) fire();
    });
    return std::function<void()>([weak = std::weak_ptr(timer)] {
      if (auto t = weak.lock()) t->cancel();
    });
  };
  controlplane::ControlPlane control_plane(
      registry, context, controlplane::AccessPolicy(options.control.keys, options.control.local_networks),
      options.control.allow_http_get);
  // Every command a known caller runs is an event (logged like the others): who, at which level,
  // with which key (its number, never the key itself), and how it ended.
  control_plane.set_audit([&rt](const controlplane::AuditRecord& record) {
    nlohmann::json data = {{"command", record.command},
                           {"caller", record.caller.origin},
                           {"level", commands::to_string(record.caller.level)},
                           {"status", record.outcome.status}};
    if (record.key) data["key"] = *record.key + 1;
    if (!record.outcome.ok()) data["error"] = record.outcome.error;
    rt.events().publish({"commandRun", std::move(data)});
  });
  // GET /events: every event, numbered, to the followers; their streams end with the service.
  controlplane::EventStream event_stream;
  rt.events().subscribe([&event_stream](const supervisor::Event& event) {
    event_stream.publish(event);
  });
  control_plane.set_events(&event_stream);
  rt.on_finish([&event_stream](std::function<void()> done) { event_stream.close(std::move(done)); });
  // GET /metrics, /healthz and /readyz: answered at once from the master's present state.
  const metrics::MetricsCollector collector(
      rt.clock(), rt.events(),
      {std::string(kVersion), "main", Pid{::getpid()}, std::chrono::system_clock::now()});
  const controlplane::ProbeRoutes probes(
      {.has_key = [&control_plane](const controlplane::HttpRequest& request) {
         return control_plane.authenticates(request);
       },
       .metrics = [&rt, &collector] {
         return collector.render({rt.supervisor().workers(), read_process_stats});
       },
       .readiness =
           [&rt, min_ready = options.min_ready] {
             const auto r = metrics::readiness(rt.supervisor().workers(),
                                               rt.supervisor().is_shutting_down(), min_ready);
             return controlplane::ReadyState{r.ready, r.reason};
           }},
      options.control.metrics_public);
  std::unique_ptr<controlplane::HttpServer> http;
  if (options.control.ssl && options.control.keys.empty()) {
    log::warn("ssl is set but no accessKey: the REST API does not run");
  }
  if (!options.control.keys.empty()) {
    std::optional<controlplane::TlsFiles> tls;
    if (options.control.ssl) {
      tls = controlplane::TlsFiles{options.control.ssl->key, options.control.ssl->cert};
    }
    auto server = controlplane::HttpServer::open(
        (*runtime)->io(), options.control.host, options.control.port, {},
        [&control_plane, &probes](controlplane::HttpRequest request,
                                  controlplane::HttpServer::Respond respond) {
          if (controlplane::ProbeRoutes::handles(request.target)) {
            probes.on_http(request, respond);
            return;
          }
          control_plane.on_http(std::move(request), std::move(respond));
        },
        // The probes and /metrics never take an authenticated slot (probe_routes.hpp).
        [&control_plane](const controlplane::HttpRequest& head) {
          return !controlplane::ProbeRoutes::handles(head.target) &&
                 control_plane.authenticates(head);
        },
        tls);
    if (!server) return fail(kExitUsage, server.error().message);
    http = std::move(*server);
    log::info("control: REST API on {}://{}/cli", http->scheme(), http->address());
  }
  if (auto added = add_directory_commands(options, rt, http.get(), registry); !added) {
    return fail(kExitUsage, added.error().message);
  }
  context.run_test = test_runner(rt, command_environment(options, http.get()));

  Running running{rt.io(), registry, rt.events(), control_plane, options.command_timeout};
  // Workers' commands and events, at level local: they run on this machine, but are not the
  // master's own code.
  auto channel = controlplane::WorkerChannel::open(
      rt.io(), [&rt](PeerCredentials peer) { return rt.worker_of(peer); },
      [&running](Pid worker, std::string name, std::vector<nlohmann::json> args,
                 std::function<void(controlplane::Outcome)> done) {
        log::info("control: worker pid {}: {}", to_int(worker), sanitize_text(name));
        running.trigger(name, std::move(args),
                        {commands::TrustLevel::Local, fmt::format("worker pid {}", to_int(worker))},
                        std::move(done));
      });
  if (!channel) return fail(kExitFailure, channel.error().message);
  rt.add_worker_env("CSERVICE_CONTROL_SOCKET", (*channel)->address());
  if (hooks.on_running) hooks.on_running(running);
  // SIGHUP is `restart all` from the master itself: one rolling operation at a time (a second
  // is refused as busy), audited and listed by `operations` like one from the REST API.
  rt.set_on_reload([&control_plane](std::function<void()> done) {
    control_plane.run_trusted(
        "restart", {"all"}, {commands::TrustLevel::Inproc, "signal SIGHUP"},
        [done = std::move(done)](const controlplane::Outcome& outcome) {
          if (outcome.ok()) {
            log::info("SIGHUP: every worker restarted");
          } else {
            log::warn("SIGHUP: restart all: {}", outcome.error);
          }
          done();
        });
  });

  if (daemon) {
    daemon->report(true, fmt::format("pid {}, output in {}, pid in {}", ::getpid(),
                                     options.log_file, options.pid_file));
  }
  std::unique_ptr<Console> console;
  if (options.console && !daemon && ::isatty(STDIN_FILENO)) {
    console = std::make_unique<Console>(rt.io(), control_plane);
    console->start();
  }

  log::info("cservice {} starting {} worker(s) of {}", kVersion, options.policy.worker_count,
            options.program);
  const int status = (*runtime)->run();
  console.reset();
  http.reset();
  channel->reset();
  if (hooks.on_stopped) hooks.on_stopped();
  // The subscribers above (the event stream, the metrics) go before the runtime, whose loop may
  // still answer a command it had queued as it is destroyed ("internal error"), and audit it:
  // from now on no event reaches them.
  rt.events().clear();
  return status;
}

}  // namespace cservice::app
