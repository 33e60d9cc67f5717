#include "app/command_environment.hpp"

#include <fmt/format.h>

#include <string_view>

extern char** environ;

namespace cservice::app {

std::vector<std::string> command_environment(const config::Options& options,
                                             const controlplane::HttpServer* http) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (!entry.starts_with("CSERVICE_") && !entry.starts_with("NOTIFY_SOCKET=") &&
        !entry.starts_with("LISTEN_")) {
      env.emplace_back(entry);
    }
  }
  if (http != nullptr) {
    const auto& control = options.control;
    env.push_back("CSERVICE_HOST=" + control.host);
    env.push_back(fmt::format("CSERVICE_PORT={}", http->port()));
    env.push_back(fmt::format("CSERVICE_URL={}://{}/cli", http->scheme(), http->address()));
    env.push_back("CSERVICE_ACCESS_KEY=" + control.keys.front().secret);
  }
  return env;
}

}  // namespace cservice::app
