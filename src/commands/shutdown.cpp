#include "commands/registry.hpp"
#include "supervisor/supervisor.hpp"

namespace cservice::commands {

Command shutdown_command() {
  return {
      "shutdown",
      "shutdown all|pid [timeout] [{\"timeout\": ms}]",
      "`shutdown pid` stops one worker for good (stop signal, SIGKILL after `timeout`) and "
      "answers once it has exited; `start` brings it back. `shutdown all` stops every worker "
      "gracefully (SIGKILL after `timeout`) and then the service exits; it answers at once. The "
      "timeout (ms) may be given as the seed's positional argument or in the options object "
      "(which wins).",
      // It stops the whole service: local by default, as in the original (a key that reached a
      // remote peer should not be enough to take the service down).
      TrustLevel::Local,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        auto parsed = parse_target_args("shutdown", args, 1, {"timeout"}, {"timeout"});
        if (!parsed) {
          reply.fail(parsed.error());
          return;
        }
        if (!parsed->target) {
          reply.ok({{"shutdown", "all"}, {"workers", context.supervisor.workers().size()}});
          context.shutdown_service(/*force=*/false, parsed->timeout);
          return;
        }
        answer_when_done(std::move(reply), [&](supervisor::Completion done) {
          return context.supervisor.stop_worker(*parsed->target, parsed->timeout, std::move(done));
        });
      },
  };
}

}  // namespace cservice::commands
