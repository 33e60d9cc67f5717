#include "commands/registry.hpp"
#include "commands/run_operation.hpp"
#include "supervisor/supervisor.hpp"

#include <fmt/format.h>

namespace cservice::commands {

Command restart_command() {
  return {
      "restart",
      "restart all|pid [timeout] [{\"timeout\": ms, \"async\": bool}]",
      "Rolling restart: each worker's replacement starts, and only once it is ready is the old "
      "one sent the stop signal (SIGKILL after `timeout` ms, default stopTimeoutMs). Workers are "
      "replaced 1 + floor(n * restartConcurrencyRatio) at a time. Answers when done. The "
      "timeout may be given as the seed's positional argument or in the options object (which "
      "wins). With {\"async\": true} it answers 202 at once with an operation id (see "
      "operations, wait, cancel).",
      TrustLevel::Remote,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        auto parsed = parse_target_args("restart", args, 1, {"timeout"}, {"timeout", "async"});
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
        run_operation(context, OperationKind::Restart, request.description, parsed->options,
                      std::move(reply), [&](OperationHooks hooks) {
                        request.on_progress = std::move(hooks.on_progress);
                        return context.supervisor.begin_rollout(std::move(request),
                                                                std::move(hooks.done));
                      });
      },
  };
}

}  // namespace cservice::commands
