#include "commands/registry.hpp"
#include "commands/run_operation.hpp"

namespace cservice::commands {

Command operations_command() {
  return {
      "operations",
      "operations [id]",
      "The long commands run lately (restart, upgrade, rollback, start, shutdown), newest last: "
      "id, kind, description, state (running, succeeded, failed, cancelled), stage and progress "
      "(done of total) while a rollout runs, startedAt, elapsedMs or durationMs, and how it "
      "ended. Every running operation and the last 50 finished are kept. With an id: that one, "
      "with its whole outcome (the answer its synchronous form gives).",
      TrustLevel::Remote,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        if (!args.empty()) {
          auto operation = operation_arg(context, "operations", args, 0);
          if (!operation) {
            reply.fail(operation.error());
            return;
          }
          reply.ok(to_json(**operation, context.operations->now()));
          return;
        }
        nlohmann::json list = nlohmann::json::array();
        if (context.operations != nullptr) {
          for (const Operation* operation : context.operations->all()) {
            auto item = to_json(*operation, context.operations->now());
            // The list stays short: a result is in `operations ID`.
            if (item.contains("outcome")) item["outcome"].erase("result");
            list.push_back(std::move(item));
          }
        }
        reply.ok({{"operations", std::move(list)}});
      },
      1,
  };
}

}  // namespace cservice::commands
