#include "commands/registry.hpp"
#include "supervisor/supervisor.hpp"

#include <fmt/format.h>

namespace cservice::commands {

Command restart_command() {
  return {
      "restart",
      "restart all|pid [timeout] [{\"timeout\": ms}]",
      "Rolling restart: each worker's replacement starts, and only once it is ready is the old "
      "one sent the stop signal (SIGKILL after `timeout` ms, default stopTimeoutMs). Workers are "
      "replaced 1 + floor(n * restartConcurrencyRatio) at a time. Answers when done. The "
      "timeout may be given as the seed's positional argument or in the options object (which "
      "wins).",
      TrustLevel::Remote,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        auto parsed = parse_target_args("restart", args, 1, {"timeout"}, {"timeout"});
        if (!parsed) {
          reply.fail(parsed.error());
          return;
        }
        supervisor::RolloutRequest request;
        request.reason = supervisor::Reason::Restart;
        request.only = parsed->target;
        request.stop_timeout = parsed->timeout;
        request.description =
            parsed->target ? fmt::format("restart {}", to_int(*parsed->target)) : "restart all";
        answer_when_done(std::move(reply), [&](supervisor::Completion done) {
          return context.supervisor.begin_rollout(std::move(request), std::move(done));
        });
      },
  };
}

}  // namespace cservice::commands
