#include "commands/registry.hpp"
#include "supervisor/supervisor.hpp"

#include <fmt/format.h>

namespace cservice::commands {

Command workers_command() {
  return {
      "workers",
      "workers [simple|details]",
      "Lists the worker slots: id, pid, state, reason of the last change, time in that state "
      "(sinceMs), the process's uptime, restarts, its program (args and cwd where they differ "
      "from the service's); "
      "`details` adds memory (RSS) and CPU time, `simple` keeps only id, pid and state.",
      TrustLevel::Remote,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args,
         Reply reply) {
        const std::string mode = args.empty() ? "normal" : args[0].is_string() ? args[0].get<std::string>() : "";
        if (mode != "normal" && mode != "simple" && mode != "details") {
          reply.fail(make_error(errc::bad_request,
                                fmt::format("workers: expected simple or details, got {}",
                                            json_text(args[0]))));
          return;
        }
        const TimePoint now = context.clock.now();
        nlohmann::json list = nlohmann::json::array();
        for (const auto& w : context.supervisor.workers()) {
          nlohmann::json item = {{"id", to_int(w.id)},
                                 {"pid", w.pid ? nlohmann::json(to_int(*w.pid)) : nlohmann::json()},
                                 {"state", supervisor::to_string(w.state)}};
          if (mode != "simple") {
            item["reason"] = supervisor::to_string(w.reason);
            item["sinceMs"] = milliseconds_between(w.since, now);
            if (w.pid) item["uptimeMs"] = milliseconds_between(w.started, now);
            item["restarts"] = w.restarts;
            if (w.crash_loop) item["crashLoop"] = true;
            if (!w.status.empty()) item["status"] = w.status;
            // Each worker's program; its args and cwd only where they differ from the
            // service's (a mixed fleet: `upgrade PID`, `start PROGRAM`).
            const auto& service = context.supervisor.program();
            item["program"] = w.spec->program;
            if (w.spec->args != service.args) item["args"] = w.spec->args;
            if (w.spec->cwd != service.cwd) item["cwd"] = w.spec->cwd;
            // A rollout's replacement beside it (an upgrade's canary on trial, a batch).
            if (w.incoming) {
              item["incoming"] = {{"pid", to_int(w.incoming->pid)},
                                  {"state", supervisor::to_string(w.incoming->state)},
                                  {"program", w.incoming->spec->program}};
            }
          }
          if (mode == "details" && w.pid) {
            if (const auto stats = context.process_stats(*w.pid)) {
              item["rssBytes"] = stats->rss_bytes;
              item["cpuSeconds"] = stats->cpu_seconds;
            }
          }
          list.push_back(std::move(item));
        }
        reply.ok({{"workers", list}});
      },
      /*max_args=*/1,
  };
}

}  // namespace cservice::commands
