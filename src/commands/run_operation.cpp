#include "commands/run_operation.hpp"

#include "commands/answer.hpp"
#include "commands/registry.hpp"
#include "supervisor/supervisor.hpp"

#include <fmt/format.h>

#include <charconv>
#include <memory>

namespace cservice::commands {

Error busy_error(const Operation& running) {
  const auto id = to_int(running.id);
  return make_error(errc::busy, fmt::format("busy: operation {} ({}) is running; 'wait {}' or "
                                            "'cancel {}'",
                                            id, running.description, id, id));
}

Result<const Operation*> operation_arg(const Context& context, const std::string& command,
                                       const std::vector<nlohmann::json>& args, std::size_t at) {
  if (context.operations == nullptr) {
    return make_error(errc::bad_request, fmt::format("{}: no operations here", command));
  }
  if (args.size() <= at) {
    return make_error(errc::bad_request,
                      fmt::format("{}: expected an operation id (see operations)", command));
  }
  const nlohmann::json& arg = args[at];
  std::uint64_t id = 0;
  bool valid = false;
  if (arg.is_number_unsigned() || (arg.is_number_integer() && arg.get<long long>() > 0)) {
    id = arg.get<std::uint64_t>();
    valid = id > 0;
  } else if (arg.is_string()) {
    const std::string& text = arg.get_ref<const std::string&>();
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    valid = ec == std::errc() && end == text.data() + text.size() && id > 0;
  }
  if (!valid) {
    return make_error(errc::bad_request,
                      fmt::format("{}: expected an operation id (a whole number from 1), got {}",
                                  command, json_text(arg)));
  }
  const Operation* operation = context.operations->find(OperationId{id});
  if (operation == nullptr) {
    return make_error(errc::not_found,
                      fmt::format("{}: no operation {} (the running ones and the last {} "
                                  "finished are kept)",
                                  command, id, Operations::kMaxFinished));
  }
  return operation;
}

void run_operation(Context& context, OperationKind kind, std::string description,
                   const nlohmann::json& options, Reply reply, const BeginOperation& begin) {
  const char* command = to_string(kind);
  bool async = false;
  if (options.is_object() && options.contains("async")) {
    const auto& value = options["async"];
    if (!value.is_boolean()) {
      reply.fail(make_error(errc::bad_request, fmt::format("{}: async must be true or false, got {}",
                                                           command, json_text(value))));
      return;
    }
    async = value.get<bool>();
  }
  Operations* operations = context.operations;
  if (operations == nullptr) {
    if (async) {
      reply.fail(make_error(errc::bad_request,
                            fmt::format("{}: async operations are not available here", command)));
      return;
    }
    answer_when_done(std::move(reply), [&](supervisor::Completion done) {
      return begin({std::move(done), {}});
    });
    return;
  }
  // A rollout replaces the workers there are: another rollout, or workers started meanwhile
  // (which it would not replace), must wait for it.
  if (is_rollout(kind) || kind == OperationKind::Start) {
    if (const Operation* running = operations->running_rollout()) {
      reply.fail(busy_error(*running));
      return;
    }
  }
  const OperationId id = operations->begin(kind, std::move(description));
  // A completion is copyable; the reply is not: share it. Empty once answered.
  auto waiting = std::make_shared<std::optional<Reply>>(std::move(reply));
  OperationHooks hooks;
  hooks.done = [operations, id, waiting, async,
                &supervisor = context.supervisor](Result<nlohmann::json> result) {
    // Ended by the service's own shutdown: cancelled, as by an operator.
    if (!result && supervisor.is_shutting_down()) {
      operations->mark_cancel(id, "the service is shutting down");
    }
    operations->finish(id, answer_of(result));
    // Async: the 202 answers, even when the operation is over before begin returns.
    if (async || !*waiting) return;
    // The synchronous answer is the supervisor's own, untouched.
    if (result) {
      (*waiting)->ok(std::move(*result));
    } else {
      (*waiting)->fail(result.error());
    }
    waiting->reset();
  };
  if (is_rollout(kind)) {
    hooks.on_progress = [operations, id](const supervisor::RolloutProgress& progress) {
      operations->progress(id, supervisor::to_string(progress.stage), progress.done,
                           progress.total);
    };
  }
  if (auto begun = begin(std::move(hooks)); !begun) {
    operations->finish(id, answer_of(begun.error()));
    if (*waiting) {
      (*waiting)->fail(begun.error());
      waiting->reset();
    }
    return;
  }
  if (async && *waiting) {
    const Operation* operation = operations->find(id);
    (*waiting)->accepted(
        {{"operation", to_int(id)},
         {"kind", command},
         {"description", operation != nullptr ? operation->description : std::string()},
         {"state", to_string(operation != nullptr ? operation->state : OperationState::Running)},
         {"wait", fmt::format("wait {}", to_int(id))}});
    waiting->reset();
  }
}

}  // namespace cservice::commands
