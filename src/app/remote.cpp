// Remote mode: `cservice "restart all" --access-key K [--host H --port P] [--json]` sends one
// command line to the running service and prints the answer: readable by default, the raw JSON
// with --json. Exit status 0 when the command succeeded, 1 when it was refused or failed.

#include "app/console.hpp"
#include "app/modes.hpp"
#include "base/log.hpp"
#include "control/http_client.hpp"


namespace cservice::app {

int remote(const config::CommandLine& command_line) {
  auto settings = config::control_from_json(command_line.options);
  if (!settings) {
    log::error("{}", settings.error().message);
    return kExitUsage;
  }
  const std::string key = settings->keys.empty() ? std::string() : settings->keys.front().secret;
  auto answer = controlplane::send_command(settings->host, settings->port, key, command_line.target,
                                      std::chrono::minutes(10));
  if (!answer) {
    log::error("{}", answer.error().message);
    return kExitFailure;
  }
  return print_outcome(answer->status, answer->body, command_line.json) ? kExitOk : kExitFailure;
}

}  // namespace cservice::app
