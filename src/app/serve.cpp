// Serve mode: bind the listening sockets, start the runtime and, with an access key, the REST
// API on the same loop.

#include "app/console.hpp"
#include "app/daemon.hpp"
#include "app/modes.hpp"
#include "app/version.hpp"
#include "base/log.hpp"
#include "commands/registry.hpp"
#include "control/control_plane.hpp"
#include "control/http_client.hpp"
#include "control/http_server.hpp"
#include "runtime/runtime.hpp"

#include <boost/asio/post.hpp>

#include <fstream>
#include <sstream>
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

}  // namespace

int serve(const config::Options& options) {
  const std::string key = options.control.keys.empty() ? "" : options.control.keys.front().secret;
  if (!key.empty() && options.control.port != 0) {
    // The seed's piping: if a service already answers on the control port, become its console
    // rather than a second service.
    auto probe = control::send_command(options.control.host, options.control.port, key,
                                       "version", std::chrono::milliseconds(500));
    if (probe) {
      return attached_console(options.control.host, options.control.port, key);
    }
  }
  std::unique_ptr<Daemon> daemon;
  if (options.daemon) {
    daemon = Daemon::detach(options);
    if (daemon->is_parent()) return daemon->parent_status();
  }
  // A start-up failure: one line, to the terminal (through the waiting command, as a daemon).
  const auto fail = [&daemon](int status, const std::string& message) {
    log::error("{}", message);
    if (daemon) daemon->report(false, message);
    return status;
  };

  std::vector<os::ListenSocket> sockets;
  for (const auto& endpoint : options.listen) {
    auto socket = os::ListenSocket::open(endpoint);
    if (!socket) return fail(kExitUsage, socket.error().message);
    sockets.push_back(std::move(*socket));
  }
  for (const auto& socket : sockets) {
    log::info("listening on {} (name {})", socket.address(), socket.endpoint().name);
  }
  auto runtime = runtime::Runtime::create(options, std::move(sockets));
  if (!runtime) return fail(kExitFailure, runtime.error().message);
  (*runtime)->events().subscribe([](const supervisor::Event& event) {
    log::info("event {} {}", event.name, event.data.dump());
  });

  commands::Registry registry;
  commands::add_builtins(registry);
  for (const auto& [name, level] : options.control.levels) registry.override_level(name, level);
  runtime::Runtime& rt = **runtime;
  commands::Context context{rt.supervisor(), rt.clock(), rt.clock().now(), kVersion,
                            options.program, read_process_stats,
                            [&rt](bool force) {
                              // After the answer already queued on the loop has been written.
                              boost::asio::post(rt.io(), [&rt, force] {
                                rt.shutdown(force ? supervisor::StopMode::Kill
                                                  : supervisor::StopMode::Graceful);
                              });
                            }};
  control::ControlPlane control_plane(
      registry, context, control::AccessPolicy(options.control.keys, options.control.local_networks),
      options.control.allow_http_get);
  std::unique_ptr<control::HttpServer> http;
  if (!options.control.keys.empty()) {
    auto server = control::HttpServer::open(
        (*runtime)->io(), options.control.host, options.control.port, {},
        [&control_plane](control::HttpRequest request, control::HttpServer::Respond respond) {
          control_plane.on_http(std::move(request), std::move(respond));
        });
    if (!server) return fail(kExitUsage, server.error().message);
    http = std::move(*server);
    log::info("control: REST API on http://{}/cli", http->address());
  }

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
  return status;
}

}  // namespace cservice::app
