#include "commands/answer.hpp"
#include "commands/registry.hpp"
#include "commands/run_operation.hpp"

#include <fmt/format.h>

#include <memory>
#include <utility>

namespace cservice::commands {
namespace {

// `where` for the time-out's message: "stage monitor, 1 of 4 done", or "".
std::string progress_text(const Operation& operation) {
  if (!operation.stage) return "";
  if (!operation.progress) return fmt::format(", stage {}", *operation.stage);
  return fmt::format(", stage {}, {} of {} done", *operation.stage, operation.progress->done,
                     operation.progress->total);
}

// The answer of an operation that is over, as its synchronous form gave it.
void answer_with_outcome(const Operation& operation, Reply& reply) {
  const Answer& outcome = *operation.outcome;
  if (outcome.ok()) {
    reply.ok(outcome.result);
  } else {
    reply.fail(make_error(code_of_status(outcome.status), outcome.error));
  }
}

}  // namespace

Command wait_command() {
  return {
      "wait",
      "wait id [timeout] [{\"timeout\": ms}]",
      "Waits for operation `id` (see operations) to be over and answers with its outcome, "
      "exactly as its synchronous form would (same status and body); at once if it is already "
      "over. Past `timeout` ms (0: at once): 504 naming its stage and progress, and the "
      "operation goes on.",
      TrustLevel::Remote,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        auto operation = operation_arg(context, "wait", args, 0);
        if (!operation) {
          reply.fail(operation.error());
          return;
        }
        auto options = parse_trailing("wait", args, 1, {"timeout"}, {"timeout"});
        if (!options) {
          reply.fail(options.error());
          return;
        }
        auto timeout = timeout_option("wait", *options);
        if (!timeout) {
          reply.fail(timeout.error());
          return;
        }
        if (*timeout && !context.after) {
          reply.fail(make_error(errc::bad_request, "wait: no timeout can be kept here"));
          return;
        }
        struct Waiting {
          std::optional<Reply> reply;
          std::function<void()> cancel_timer;
        };
        auto waiting = std::make_shared<Waiting>();
        waiting->reply.emplace(std::move(reply));
        const OperationId id = (*operation)->id;
        context.operations->when_over(id, [waiting](const Operation& over) {
          if (!waiting->reply) return;
          answer_with_outcome(over, *waiting->reply);
          waiting->reply.reset();
          if (auto cancel = std::exchange(waiting->cancel_timer, nullptr)) cancel();
        });
        if (!waiting->reply || !*timeout) return;
        Operations* operations = context.operations;
        const Milliseconds limit = **timeout;
        waiting->cancel_timer = context.after(limit, [waiting, operations, id, limit] {
          if (!waiting->reply) return;
          const Operation* running = operations->find(id);
          waiting->reply->fail(make_error(
              errc::timed_out,
              fmt::format("wait: operation {} ({}) is still running after {} ms{}; it goes on",
                          to_int(id), running != nullptr ? running->description : "",
                          limit.count(), running != nullptr ? progress_text(*running) : "")));
          waiting->reply.reset();
        });
      },
      3,
  };
}

}  // namespace cservice::commands
