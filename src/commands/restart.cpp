#include "commands/registry.hpp"
#include "supervisor/supervisor.hpp"

#include <fmt/format.h>

namespace cservice::commands {

Command restart_command() {
  return {
      "restart",
      "restart all|pid {\"timeout\": ms}",
      "Rolling restart: each worker's replacement starts, and only once it is ready is the old "
      "one sent the stop signal (SIGKILL after `timeout`, default stopTimeoutMs). Workers are "
      "replaced 1 + floor(n * restartConcurrencyRatio) at a time. Answers when done.",
      TrustLevel::Remote,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        auto target = parse_target("restart", args, 0);
        auto options = target ? parse_options("restart", args, 1, {"timeout"}) : target.error();
        auto timeout = options ? timeout_option("restart", *options) : options.error();
        if (!timeout) {
          reply.fail(timeout.error());
          return;
        }
        supervisor::RolloutRequest request;
        request.reason = supervisor::Reason::Restart;
        request.only = *target;
        request.stop_timeout = *timeout;
        request.description = *target ? fmt::format("restart {}", to_int(**target)) : "restart all";
        auto shared = std::make_shared<Reply>(std::move(reply));
        auto begun = context.supervisor.begin_rollout(
            std::move(request), [shared](Result<nlohmann::json> result) {
              if (result) {
                shared->ok(std::move(*result));
              } else {
                shared->fail(result.error());
              }
            });
        if (!begun) shared->fail(begun.error());
      },
  };
}

}  // namespace cservice::commands
