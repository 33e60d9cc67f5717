#include "commands/registry.hpp"
#include "commands/run_operation.hpp"
#include "supervisor/supervisor.hpp"

#include <fmt/format.h>

#include <memory>
#include <utility>

namespace cservice::commands {
namespace {

// Calls `done` once every started worker is ready, or with the first that is not.
void when_all_ready(supervisor::Supervisor& supervisor, const std::vector<Pid>& started,
                    Milliseconds timeout, supervisor::Completion done) {
  struct Waiting {
    supervisor::Completion done;  // empty once called
    std::size_t left = 0;
    nlohmann::json started = nlohmann::json::array();
    nlohmann::json ready = nlohmann::json::array();
    void finish(Result<nlohmann::json> result) {
      auto once = std::exchange(done, nullptr);
      if (once) once(std::move(result));
    }
  };
  auto waiting = std::make_shared<Waiting>();
  waiting->done = std::move(done);
  for (const Pid pid : started) waiting->started.push_back(to_int(pid));
  waiting->left = started.size();
  // 0: no limit of its own, as the seed's "0 for infinite wait" (readyTimeoutMs still holds).
  const std::optional<Milliseconds> within =
      timeout.count() > 0 ? std::optional<Milliseconds>(timeout) : std::nullopt;
  for (const Pid pid : started) {
    auto begun = supervisor.when_ready(pid, within, [waiting](Result<nlohmann::json> result) {
      if (!waiting->done) return;
      if (!result) {
        waiting->finish(Error{result.error().code, "start: " + result.error().message});
        return;
      }
      waiting->ready.push_back((*result)["pid"]);
      if (--waiting->left == 0) {
        waiting->finish(nlohmann::json{{"started", waiting->started}, {"ready", waiting->ready}});
      }
    });
    if (!begun && waiting->done) {
      waiting->finish(Error{begun.error().code, "start: " + begun.error().message});
    }
  }
}

}  // namespace

Command start_command() {
  return {
      "start",
      "start [program] [cwd] [timeout] [{\"count\": n, \"cwd\": dir, \"args\": [...], "
      "\"timeout\": ms, \"async\": bool}]",
      "Without a program or count: starts the worker slots that have no process (stopped with "
      "shutdown, or given up on in a crash loop). With a program (a relative path is taken from "
      "the master's working directory; `cwd` is where it runs): those slots run it, or, when "
      "every slot is busy, one worker of it is added (as the original's `start workerPath`). "
      "With a count: adds that many workers. Answers with the new pids once started; with a "
      "`timeout` (ms, at most readyTimeoutMs; 0: readyTimeoutMs alone), once they are all "
      "ready, or with an error when one is not ready in time (it is then stopped as a failed "
      "worker). cwd and timeout may be given as the seed's positional arguments or in the "
      "options object (which wins). With {\"async\": true} it answers 202 at once with an "
      "operation id (see operations, wait).",
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
                                             {"count", "cwd", "args", "timeout", "async"})
                            : parse_trailing("start", args, at, {"timeout"},
                                             {"count", "cwd", "args", "timeout", "async"});
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
        std::string description = "start";
        if (spec) description += " " + spec->program;
        if (count > 0) description += fmt::format(" (count {})", count);
        run_operation(
            context, OperationKind::Start, std::move(description), *options, std::move(reply),
            [&](OperationHooks hooks) -> Result<void> {
              auto started = context.supervisor.start_workers(count, std::move(spec));
              if (!started) return started.error();
              if (*timeout && !started->empty()) {
                when_all_ready(context.supervisor, *started, **timeout, std::move(hooks.done));
                return {};
              }
              nlohmann::json pids = nlohmann::json::array();
              for (const Pid pid : *started) pids.push_back(to_int(pid));
              hooks.done(nlohmann::json{{"started", pids}});
              return {};
            });
      },
  };
}

}  // namespace cservice::commands
