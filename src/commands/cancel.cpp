#include "commands/answer.hpp"
#include "commands/registry.hpp"
#include "commands/run_operation.hpp"
#include "supervisor/supervisor.hpp"

#include <fmt/format.h>

#include <memory>

namespace cservice::commands {

Command cancel_command() {
  Command command{
      "cancel",
      "cancel id",
      "Cancels operation `id` (a running restart, upgrade or rollback; see operations): the "
      "replacements still starting are stopped and what it already replaced is rolled back. "
      "Answers once it is over: {\"operation\": id, \"cancelled\": true, \"outcome\": {...}}. "
      "Cancelling needs the access of the command that started the operation too (an upgrade: "
      "local, by default). start and shutdown cannot be cancelled.",
      TrustLevel::Remote,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        auto found = operation_arg(context, "cancel", args, 0);
        if (!found) {
          reply.fail(found.error());
          return;
        }
        const Operation& operation = **found;
        const auto id = to_int(operation.id);
        if (!is_rollout(operation.kind)) {
          reply.fail(make_error(
              errc::bad_request,
              fmt::format("cancel: operation {} ({}) is a {}, which cannot be cancelled (only a "
                          "restart, upgrade or rollback can)",
                          id, operation.description, to_string(operation.kind))));
          return;
        }
        if (operation.state != OperationState::Running) {
          reply.fail(make_error(
              errc::busy, fmt::format("cancel: operation {} ({}) is over: it {}{}", id,
                                      operation.description,
                                      operation.state == OperationState::Cancelled
                                          ? "was cancelled"
                                          : to_string(operation.state),
                                      operation.outcome && !operation.outcome->ok()
                                          ? " (" + operation.outcome->error + ")"
                                          : "")));
          return;
        }
        const std::string why = fmt::format("cancelled by the operator (cancel {})", id);
        Operations* operations = context.operations;
        // A second cancel of one being cancelled joins the first: the same answer, when over.
        if (operation.cancel_reason.empty()) {
          // Before the supervisor is told: the rollout may end inside cancel_rollout.
          operations->mark_cancel(operation.id, why);
          if (auto cancelled = context.supervisor.cancel_rollout(why); !cancelled) {
            operations->mark_cancel(operation.id, "");
            reply.fail(Error{cancelled.error().code, "cancel: " + cancelled.error().message});
            return;
          }
        }
        auto waiting = std::make_shared<std::optional<Reply>>(std::move(reply));
        operations->when_over(operation.id, [waiting](const Operation& over) {
          if (!*waiting) return;
          (*waiting)->ok({{"operation", to_int(over.id)},
                          {"cancelled", over.state == OperationState::Cancelled},
                          {"outcome", to_json(*over.outcome)}});
          waiting->reset();
        });
      },
      1,
  };
  // Who may cancel an operation may also start one like it.
  command.acts_as = [](const Context& context,
                       const std::vector<nlohmann::json>& args) -> std::optional<std::string> {
    auto found = operation_arg(context, "cancel", args, 0);
    if (!found) return std::nullopt;
    return std::string(to_string((*found)->kind));
  };
  return command;
}

}  // namespace cservice::commands
