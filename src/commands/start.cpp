#include "commands/registry.hpp"
#include "supervisor/supervisor.hpp"

#include <fmt/format.h>

#include <memory>

namespace cservice::commands {
namespace {

// Answers once every started worker is ready, or with the first that is not.
void answer_when_ready(supervisor::Supervisor& supervisor, const std::vector<Pid>& started,
                       Milliseconds timeout, Reply reply) {
  struct Waiting {
    explicit Waiting(Reply r) : reply(std::move(r)) {}
    std::optional<Reply> reply;
    std::size_t left = 0;
    nlohmann::json started = nlohmann::json::array();
    nlohmann::json ready = nlohmann::json::array();
  };
  auto waiting = std::make_shared<Waiting>(std::move(reply));
  for (const Pid pid : started) waiting->started.push_back(to_int(pid));
  waiting->left = started.size();
  // 0: no limit of its own, as the seed's "0 for infinite wait" (readyTimeoutMs still holds).
  const std::optional<Milliseconds> within =
      timeout.count() > 0 ? std::optional<Milliseconds>(timeout) : std::nullopt;
  for (const Pid pid : started) {
    auto begun = supervisor.when_ready(pid, within, [waiting](Result<nlohmann::json> result) {
      if (!waiting->reply) return;
      if (!result) {
        waiting->reply->fail(
            Error{result.error().code, "start: " + result.error().message});
        waiting->reply.reset();
        return;
      }
      waiting->ready.push_back((*result)["pid"]);
      if (--waiting->left == 0) {
        waiting->reply->ok({{"started", waiting->started}, {"ready", waiting->ready}});
        waiting->reply.reset();
      }
    });
    if (!begun && waiting->reply) {
      waiting->reply->fail(Error{begun.error().code, "start: " + begun.error().message});
      waiting->reply.reset();
    }
  }
}

}  // namespace

Command start_command() {
  return {
      "start",
      "start [program] [cwd] [timeout] [{\"count\": n, \"cwd\": dir, \"args\": [...], "
      "\"timeout\": ms}]",
      "Without a program or count: starts the worker slots that have no process (stopped with "
      "shutdown, or given up on in a crash loop). With a program (a relative path is taken from "
      "the master's working directory; `cwd` is where it runs): those slots run it, or, when "
      "every slot is busy, one worker of it is added (as the original's `start workerPath`). "
      "With a count: adds that many workers. Answers with the new pids once started; with a "
      "`timeout` (ms, at most readyTimeoutMs; 0: readyTimeoutMs alone), once they are all "
      "ready, or with an error when one is not ready in time (it is then stopped as a failed "
      "worker). cwd and timeout may be given as the seed's positional arguments or in the "
      "options object (which wins).",
      // It may run a program of the caller's choosing, as the master's user: local by default.
      TrustLevel::Local,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        std::size_t at = 0;
        std::optional<supervisor::ProgramSpec> spec;
        if (!args.empty() && args[0].is_string()) {
          auto program = checked_program("start", args[0]);
          if (!program) {
            reply.fail(program.error());
            return;
          }
          spec = context.supervisor.program();
          spec->program = *program;
          at = 1;
        }
        auto options = spec ? parse_trailing("start", args, at, {"cwd", "timeout"},
                                             {"count", "cwd", "args", "timeout"})
                            : parse_trailing("start", args, at, {"timeout"},
                                             {"count", "cwd", "args", "timeout"});
        if (!options) {
          reply.fail(options.error());
          return;
        }
        auto timeout = timeout_option("start", *options);
        if (!timeout) {
          reply.fail(timeout.error());
          return;
        }
        std::size_t count = 0;
        if (options->contains("count")) {
          const auto& c = (*options)["count"];
          if (!c.is_number_integer() || c.get<long long>() < 1 || c.get<long long>() > 1024) {
            reply.fail(make_error(errc::bad_request,
                                  fmt::format("start: count must be from 1 to 1024, got {}",
                                              json_text(c))));
            return;
          }
          count = c.get<std::size_t>();
        }
        if ((options->contains("cwd") || options->contains("args")) && !spec) {
          spec = context.supervisor.program();
        }
        if (spec) {
          if (auto applied = apply_program_options("start", *options, *spec); !applied) {
            reply.fail(applied.error());
            return;
          }
        }
        // A program named with every slot busy: one more worker of it, as the original does.
        if (spec && count == 0) {
          const auto workers = context.supervisor.workers();
          const bool free_slot = std::any_of(workers.begin(), workers.end(),
                                             [](const auto& w) { return !w.pid; });
          if (!free_slot) count = 1;
        }
        auto started = context.supervisor.start_workers(count, std::move(spec));
        if (!started) {
          reply.fail(started.error());
          return;
        }
        if (*timeout && !started->empty()) {
          answer_when_ready(context.supervisor, *started, **timeout, std::move(reply));
          return;
        }
        nlohmann::json pids = nlohmann::json::array();
        for (const Pid pid : *started) pids.push_back(to_int(pid));
        reply.ok({{"started", pids}});
      },
  };
}

}  // namespace cservice::commands
