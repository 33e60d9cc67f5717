#include "commands/registry.hpp"

namespace cservice::commands {

Command exit_command() {
  return {
      "exit",
      "exit now",
      "Exits the service at once: every worker is killed (SIGKILL), then the master exits. "
      "For a graceful stop, use `shutdown all`.",
      TrustLevel::Local,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        if (args.size() != 1 || args[0] != "now") {
          reply.fail(make_error(errc::bad_request, "exit: say 'exit now'"));
          return;
        }
        reply.ok({{"exit", "now"}});
        context.shutdown_service(/*force=*/true, std::nullopt);
      },
      /*max_args=*/1,
  };
}

}  // namespace cservice::commands
