#include "commands/registry.hpp"
#include "commands/run_operation.hpp"
#include "supervisor/supervisor.hpp"

#include <fmt/format.h>

namespace cservice::commands {

Command shutdown_command() {
  return {
      "shutdown",
      "shutdown all|pid [timeout] [{\"timeout\": ms, \"async\": bool}]",
      "`shutdown pid` stops one worker for good (stop signal, SIGKILL after `timeout`) and "
      "answers once it has exited; `start` brings it back. `shutdown all` stops every worker "
      "gracefully (SIGKILL after `timeout`) and then the service exits; it answers at once. The "
      "timeout (ms) may be given as the seed's positional argument or in the options object "
      "(which wins). With {\"async\": true} it answers 202 at once with an operation id "
      "(see operations, wait).",
      // It stops the whole service: local by default, as in the original (a key that reached a
      // remote peer should not be enough to take the service down).
      TrustLevel::Local,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        auto parsed = parse_target_args("shutdown", args, 1, {"timeout"}, {"timeout", "async"});
        if (!parsed) {
          reply.fail(parsed.error());
          return;
        }
        const std::string description =
            parsed->target ? fmt::format("shutdown {}", to_int(*parsed->target)) : "shutdown all";
        run_operation(
            context, OperationKind::Shutdown, description, parsed->options, std::move(reply),
            [&](OperationHooks hooks) -> Result<void> {
              if (!parsed->target) {
                // Answered at once, as the original does; the service then stops.
                hooks.done(nlohmann::json{{"shutdown", "all"},
                                          {"workers", context.supervisor.workers().size()}});
                context.shutdown_service(/*force=*/false, parsed->timeout);
                return {};
              }
              return context.supervisor.stop_worker(*parsed->target, parsed->timeout,
                                                    std::move(hooks.done));
            });
      },
  };
}

}  // namespace cservice::commands
