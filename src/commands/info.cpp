#include "commands/registry.hpp"
#include "supervisor/supervisor.hpp"

#include <unistd.h>

namespace cservice::commands {

Command info_command() {
  return {
      "info",
      "info",
      "Totals: the master's pid and uptime, the program new workers run (with its args and cwd) "
      "and, after an upgrade, the previous one (what rollback returns to), workers by state, "
      "restarts so far.",
      TrustLevel::Remote,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>&, Reply reply) {
        nlohmann::json states = nlohmann::json::object();
        std::uint64_t restarts = 0;
        const auto workers = context.supervisor.workers();
        for (const auto& w : workers) {
          states[supervisor::to_string(w.state)] = states.value(supervisor::to_string(w.state), 0) + 1;
          restarts += w.restarts;
        }
        const auto& program = context.supervisor.program();
        nlohmann::json result = {{"pid", ::getpid()},
                  {"version", context.version},
                  {"program", program.program},
                  {"uptimeMs", milliseconds_between(context.started_at, context.clock.now())},
                  {"workerCount", context.supervisor.worker_target()},
                  {"workersByState", states},
                  {"restarts", restarts}};
        if (!program.args.empty()) result["args"] = program.args;
        if (!program.cwd.empty()) result["cwd"] = program.cwd;
        // What `rollback` returns to, once an upgrade of every worker has completed.
        if (const auto* previous = context.supervisor.previous_program()) {
          nlohmann::json before = {{"program", previous->program}};
          if (!previous->args.empty()) before["args"] = previous->args;
          if (!previous->cwd.empty()) before["cwd"] = previous->cwd;
          result["previous"] = std::move(before);
        }
        reply.ok(std::move(result));
      },
      /*max_args=*/0,
  };
}

}  // namespace cservice::commands
