#include "commands/registry.hpp"
#include "supervisor/supervisor.hpp"

namespace cservice::commands {

Command shutdown_command() {
  return {
      "shutdown",
      "shutdown all|pid {\"timeout\": ms}",
      "`shutdown pid` stops one worker for good (stop signal, SIGKILL after `timeout`) and "
      "answers once it has exited; `start` brings it back. `shutdown all` stops every worker "
      "gracefully and then the service exits; it answers at once.",
      TrustLevel::Remote,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        auto target = parse_target("shutdown", args, 0);
        auto options = target ? parse_options("shutdown", args, 1, {"timeout"}) : target.error();
        auto timeout = options ? timeout_option("shutdown", *options) : options.error();
        if (!timeout) {
          reply.fail(timeout.error());
          return;
        }
        if (!*target) {
          reply.ok({{"shutdown", "all"}, {"workers", context.supervisor.workers().size()}});
          context.shutdown_service(/*force=*/false);
          return;
        }
        auto shared = std::make_shared<Reply>(std::move(reply));
        auto begun = context.supervisor.stop_worker(
            **target, *timeout, [shared](Result<nlohmann::json> result) {
              if (result) {
                shared->ok({{"stopped", std::move(*result)}});
              } else {
                shared->fail(result.error());
              }
            });
        if (!begun) shared->fail(begun.error());
      },
  };
}

}  // namespace cservice::commands
