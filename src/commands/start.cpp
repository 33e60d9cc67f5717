#include "commands/registry.hpp"
#include "supervisor/supervisor.hpp"

#include <filesystem>

namespace cservice::commands {

Command start_command() {
  return {
      "start",
      "start [program] {\"count\": n, \"cwd\": dir, \"args\": [...]}",
      "Without a count: starts the worker slots that have no process (stopped with shutdown, or "
      "given up on in a crash loop). With a count: adds that many workers. With a program, "
      "those run it instead of the service's program. Answers with the new pids once started "
      "(`workers` shows when they are ready).",
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
        auto options = parse_options("start", args, at, {"count", "cwd", "args"});
        if (!options) {
          reply.fail(options.error());
          return;
        }
        std::size_t count = 0;
        if (options->contains("count")) {
          const auto& c = (*options)["count"];
          if (!c.is_number_integer() || c.get<long long>() < 1 || c.get<long long>() > 1024) {
            reply.fail(make_error(errc::bad_request, "start: count must be from 1 to 1024"));
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
        auto started = context.supervisor.start_workers(count, std::move(spec));
        if (!started) {
          reply.fail(started.error());
          return;
        }
        nlohmann::json pids = nlohmann::json::array();
        for (const Pid pid : *started) pids.push_back(to_int(pid));
        reply.ok({{"started", pids}});
      },
  };
}

}  // namespace cservice::commands
