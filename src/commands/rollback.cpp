#include "commands/registry.hpp"
#include "commands/run_operation.hpp"
#include "supervisor/supervisor.hpp"

#include <fmt/format.h>

namespace cservice::commands {

Command rollback_command() {
  return {
      "rollback",
      "rollback [timeout] [{\"timeout\": ms, \"monitor\": ms, \"test\": script, \"testTimeout\": "
      "ms, \"testArgs\": [...], \"bake\": ms, \"batch\": n, \"async\": true}]",
      "Returns every worker to the program (with its args and cwd) that ran before the last "
      "completed `upgrade all`, as an upgrade does: the first worker on trial, then the rest, "
      "ready-before-stop, with the same options and the same rollback if it fails. A second "
      "rollback returns to the upgraded program. `info` shows the current and previous "
      "program. A worker upgraded alone (`upgrade PID`) is no `upgrade all`: rollback does not "
      "undo it but replaces it with the previous program too (`upgrade PID program` puts one "
      "worker back). Answers when done, or at once with an operation id with `async`.",
      // It replaces every worker and may run a test script of the caller's choosing.
      TrustLevel::Local,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        auto options = parse_trailing(
            "rollback", args, 0, {"timeout"},
            {"timeout", "monitor", "test", "testTimeout", "testArgs", "bake", "batch", "async"});
        if (!options) {
          reply.fail(options.error());
          return;
        }
        auto timeout = timeout_option("rollback", *options);
        if (!timeout) {
          reply.fail(timeout.error());
          return;
        }
        const supervisor::ProgramSpec* previous = context.supervisor.previous_program();
        if (previous == nullptr) {
          reply.fail(make_error(errc::bad_request,
                                "rollback: nothing to roll back to: no upgrade all has completed "
                                "since the service started"));
          return;
        }
        // A release directory deleted since: a clear refusal before anything starts.
        if (auto still_there = checked_program("rollback", previous->program); !still_there) {
          reply.fail(still_there.error());
          return;
        }
        supervisor::RolloutRequest request;
        request.reason = supervisor::Reason::Rollback;
        request.program = *previous;
        request.stop_timeout = *timeout;
        if (auto applied = apply_pipeline_options("rollback", *options, context, request);
            !applied) {
          reply.fail(applied.error());
          return;
        }
        request.description = fmt::format("rollback to {}", previous->program);
        const std::string description = request.description;
        run_operation(context, OperationKind::Rollback, description, *options, std::move(reply),
                      [&](OperationHooks hooks) {
                        request.on_progress = std::move(hooks.on_progress);
                        return context.supervisor.begin_rollout(std::move(request),
                                                                std::move(hooks.done));
                      });
      },
  };
}

}  // namespace cservice::commands
