#pragma once
// run_operation runs a long command (restart, upgrade, rollback, start, shutdown) as an
// operation (operations.hpp): the synchronous form, the default, answers when it is over, as
// these commands always have; with {"async": true} in the command's options it answers 202 at
// once with the operation's id, and `operations`, `wait ID` and `cancel ID` follow it. Both forms
// are the same operation, listed alike and raising the same "operation" events.

#include "commands/command.hpp"
#include "commands/operations.hpp"
#include "supervisor/rollout.hpp"
#include "supervisor/types.hpp"

#include <functional>
#include <string>

namespace cservice::commands {

// What a command hands the supervisor to start its operation: the completion (called once,
// possibly inside begin itself, with the result or why it failed) and, for a rollout, the
// progress report (RolloutRequest::on_progress).
struct OperationHooks {
  supervisor::Completion done;
  std::function<void(const supervisor::RolloutProgress&)> on_progress;
};
using BeginOperation = std::function<Result<void>(OperationHooks hooks)>;

// Runs a long command as an operation of `kind` described as `description` ("upgrade all
// /srv/v2", also the busy message's words):
//  - `options["async"]`, if present, must be a boolean (else 400; the command lists "async"
//    among its allowed options);
//  - a rollout (restart, upgrade, rollback) while another runs is refused with busy_error();
//  - the operation is recorded and `begin` called with its hooks; an error from `begin` is
//    answered at once (the operation is kept as failed with it);
//  - synchronous: `reply` gets exactly the supervisor's answer once the operation is over;
//    async: `reply` gets 202 at once with {"operation": ID, "kind", "description", "state",
//    "wait": "wait ID"}.
// A new long command calls it where it would start the work, e.g. (upgrade, rollback):
//   run_operation(context, OperationKind::Upgrade, request.description, options,
//                 std::move(reply), [&](OperationHooks hooks) {
//                   request.on_progress = std::move(hooks.on_progress);
//                   return context.supervisor.begin_rollout(std::move(request),
//                                                           std::move(hooks.done));
//                 });
// Without context.operations (a context with no registry), the command answers when done and
// an async request is refused.
void run_operation(Context& context, OperationKind kind, std::string description,
                   const nlohmann::json& options, Reply reply, const BeginOperation& begin);

// The refusal of a rollout while `running` runs: 409, "busy: operation 3 (upgrade all /srv/v2)
// is running; 'wait 3' or 'cancel 3'".
Error busy_error(const Operation& running);

// The operation named by args[at] (its id: a whole number, or one written as a string), for
// `operations ID`, `wait ID`, `cancel ID`. Errors name `command`: a bad id (400), none kept
// with that id (404), no operations here (400).
Result<const Operation*> operation_arg(const Context& context, const std::string& command,
                                       const std::vector<nlohmann::json>& args, std::size_t at);

}  // namespace cservice::commands
