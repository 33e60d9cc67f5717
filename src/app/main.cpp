// cservice: the command-line entry point. Today one mode, serve: parse and validate options,
// bind the listening sockets, then hand everything to the runtime. Startup failures are one
// clear line and exit status 2, before any worker starts.

#include "app/version.hpp"
#include "base/log.hpp"
#include "config/flags.hpp"
#include "config/options.hpp"
#include "os/listen_socket.hpp"
#include "runtime/runtime.hpp"

#include <cstdio>
#include <exception>

namespace {

constexpr int kExitRuntimeFailure = 1;
constexpr int kExitUsage = 2;

int serve(const cservice::config::Options& options) {
  using namespace cservice;
  std::vector<os::ListenSocket> sockets;
  for (const auto& endpoint : options.listen) {
    auto socket = os::ListenSocket::open(endpoint);
    if (!socket) {
      log::error("{}", socket.error().message);
      return kExitUsage;
    }
    sockets.push_back(std::move(*socket));
  }
  for (const auto& socket : sockets) {
    log::info("listening on {} (name {})", socket.address(), socket.endpoint().name);
  }
  auto runtime = runtime::Runtime::create(options, std::move(sockets));
  if (!runtime) {
    log::error("{}", runtime.error().message);
    return kExitRuntimeFailure;
  }
  (*runtime)->events().subscribe([](const supervisor::Event& event) {
    log::info("event {} {}", event.name, event.data.dump());
  });
  log::info("cservice {} starting {} worker(s) of {}", app::kVersion,
            options.policy.worker_count, options.program);
  return (*runtime)->run();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cservice;
  try {
    auto command_line = config::parse_command_line(argc, argv);
    if (!command_line) {
      log::error("{} (see cservice --help)", command_line.error().message);
      return kExitUsage;
    }
    switch (command_line->action) {
      case config::CommandLine::Action::Help:
        std::fputs(command_line->help.c_str(), stdout);
        return 0;
      case config::CommandLine::Action::Version:
        std::printf("cservice %s\n", app::kVersion);
        return 0;
      case config::CommandLine::Action::Serve:
        break;
    }
    auto options = config::load(*command_line);
    if (!options) {
      log::error("{}", options.error().message);
      return kExitUsage;
    }
    return serve(*options);
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return kExitRuntimeFailure;
  }
}
