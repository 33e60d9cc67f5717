#include "commands/registry.hpp"
#include "commands/run_operation.hpp"
#include "supervisor/supervisor.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace cservice::commands {

Command upgrade_command() {
  return {
      "upgrade",
      "upgrade all|pid program [cwd] [timeout] [{\"cwd\": dir, \"args\": [...], \"timeout\": ms, "
      "\"monitor\": ms}]",
      "Rolling upgrade to another program (a relative path is taken from the master's working "
      "directory). The first new worker runs beside the old ones and is watched for `monitor` ms "
      "(default 1000) after it is ready; if it fails, the upgrade is cancelled and the old "
      "workers keep serving. Then the rest are replaced as in restart. On success the new "
      "program is used for later restarts. Answers when done. `timeout` (ms) is the replaced "
      "workers' time to stop before SIGKILL (default stopTimeoutMs); cwd and timeout may be "
      "given as the seed's positional arguments or in the options object (which wins).",
      // It runs a program of the caller's choosing, as the master's user: local by default.
      TrustLevel::Local,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        auto parsed = parse_target_args("upgrade", args, 2, {"cwd", "timeout"},
                                        {"cwd", "args", "timeout", "monitor", "async"});
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
        if (options->contains("monitor")) {
          const auto& m = (*options)["monitor"];
          if (!m.is_number_integer() || m.get<long long>() < 0 ||
              m.get<long long>() > kMaxTimeout.count()) {
            reply.fail(make_error(errc::bad_request,
                                  fmt::format("upgrade: monitor must be milliseconds, a whole "
                                              "number from 0 to {}, got {}",
                                              kMaxTimeout.count(), json_text(m))));
            return;
          }
          request.monitor = Milliseconds(m.get<long long>());
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
