#include "commands/registry.hpp"
#include "commands/test_run.hpp"
#include "commands/run_operation.hpp"
#include "supervisor/supervisor.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace cservice::commands {

Result<void> apply_pipeline_options(const std::string& command, const nlohmann::json& options,
                                    Context& context, supervisor::RolloutRequest& request) {
  auto monitor = milliseconds_option(command, options, "monitor");
  if (!monitor) return monitor.error();
  request.monitor = *monitor;
  auto bake = milliseconds_option(command, options, "bake");
  if (!bake) return bake.error();
  request.bake = bake->value_or(Milliseconds(0));
  if (options.contains("batch")) {
    const auto& b = options["batch"];
    if (!b.is_number_integer() || b.get<long long>() < 1 || b.get<long long>() > 1024) {
      return make_error(errc::bad_request,
                        fmt::format("{}: batch must be the number of workers replaced at a time, "
                                    "a whole number from 1 to 1024, got {}",
                                    command, json_text(b)));
    }
    request.batch = static_cast<std::size_t>(b.get<long long>());
  }
  auto test_timeout = milliseconds_option(command, options, "testTimeout");
  if (!test_timeout) return test_timeout.error();
  if (!options.contains("test")) {
    if (*test_timeout || options.contains("testArgs")) {
      return make_error(errc::bad_request,
                        fmt::format("{}: testTimeout and testArgs need a test script (\"test\")",
                                    command));
    }
    return {};
  }
  // The gate is the `test` command's runner, with the same checks of its arguments.
  nlohmann::json test_options = {{"timeout", test_timeout->value_or(kDefaultGateTimeout).count()}};
  if (options.contains("testArgs")) test_options["args"] = options["testArgs"];
  auto run = parse_test_run({options["test"], test_options});
  if (!run) {
    Error error = run.error();
    error.message = fmt::format("{}: {}", command, error.message);
    return error;
  }
  if (!context.run_test) {
    return make_error(errc::internal, fmt::format("{}: this service has no test runner", command));
  }
  request.test_name = "test " + run->script;
  request.test = [runner = context.run_test, gate = *run](std::function<void(Result<void>)> done) {
    return runner(gate, [gate, done = std::move(done)](TestOutcome outcome) {
      auto answer = test_answer(gate, outcome);
      if (answer) {
        done({});
        return;
      }
      // "test S: failed (exit 3) after N ms; output:\n<tail>": the rollout's answer says why in
      // its sentence, and ends with the output, under a line of its own.
      Error error = answer.error();
      std::string& text = error.message;
      const auto newline = text.find('\n');
      for (const std::string_view marker : {"; last output:", "; output:"}) {
        const auto at = text.rfind(marker, newline);
        if (newline != std::string::npos && at != std::string::npos && at + marker.size() == newline) {
          const bool last = marker.starts_with("; last");
          text = text.substr(0, at) + (last ? "\nlast test output:" : "\ntest output:") +
                 text.substr(newline);
          break;
        }
      }
      done(error);
    });
  };
  return {};
}

Command upgrade_command() {
  return {
      "upgrade",
      "upgrade all|pid program [cwd] [timeout] [{\"cwd\": dir, \"args\": [...], \"timeout\": ms, "
      "\"monitor\": ms, \"test\": script, \"testTimeout\": ms, \"testArgs\": [...], "
      "\"bake\": ms, \"batch\": n, \"async\": true}]",
      "Rolling upgrade to another program (a relative path is taken from the master's working "
      "directory). The first new worker (the canary) runs beside the old ones and must become "
      "ready; it is watched for `monitor` ms (default 1000); then, while it serves, "
      "the `test` script runs as the test command runs it (time-out `testTimeout`, default 5 "
      "minutes, 0: none) and must pass; then the rest are replaced, `batch` at a time (default "
      "1 + floor(n * restartConcurrencyRatio)); then the whole new fleet is watched for `bake` ms "
      "(default 0). A failure at any stage (not ready, an exit, the test failing, a new worker "
      "exiting while baking, `cancel`) rolls the replaced workers back to the previous program, "
      "ready-before-stop, and the answer names the stage and the reason. On success the new "
      "program is used for later restarts and the old one is kept for `rollback`. `timeout` "
      "(ms) is the replaced workers' time to stop before SIGKILL (default stopTimeoutMs); cwd "
      "and timeout may be given as the seed's positional arguments or in the options object "
      "(which wins). Answers when done, or at once with an operation id with `async` (see wait, "
      "operations, cancel).",
      // It runs a program of the caller's choosing, as the master's user: local by default.
      TrustLevel::Local,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        auto parsed = parse_target_args(
            "upgrade", args, 2, {"cwd", "timeout"},
            {"cwd", "args", "timeout", "monitor", "test", "testTimeout", "testArgs", "bake",
             "batch", "async"});
        auto program = parsed ? checked_program("upgrade", args.size() > 1 ? args[1] : nlohmann::json())
                              : parsed.error();
        if (!program) {
          reply.fail(program.error());
          return;
        }
        const nlohmann::json* options = &parsed->options;
        supervisor::ProgramSpec spec = context.supervisor.program();
        spec.program = *program;
        if (auto applied = apply_program_options("upgrade", *options, spec); !applied) {
          reply.fail(applied.error());
          return;
        }
        supervisor::RolloutRequest request;
        request.reason = supervisor::Reason::Upgrade;
        request.only = parsed->target;
        request.program = spec;
        request.stop_timeout = parsed->timeout;
        if (auto applied = apply_pipeline_options("upgrade", *options, context, request);
            !applied) {
          reply.fail(applied.error());
          return;
        }
        request.description = fmt::format(
            "upgrade {} {}", parsed->target ? std::to_string(to_int(*parsed->target)) : "all",
            spec.program);
        run_operation(context, OperationKind::Upgrade, request.description, *options,
                      std::move(reply), [&](OperationHooks hooks) {
                        request.on_progress = std::move(hooks.on_progress);
                        return context.supervisor.begin_rollout(std::move(request),
                                                                std::move(hooks.done));
                      });
      },
  };
}

}  // namespace cservice::commands
