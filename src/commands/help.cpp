#include "commands/registry.hpp"

#include <fmt/format.h>

namespace cservice::commands {

Command help_command() {
  return {
      "help",
      "help [command]",
      "Lists the commands with their usage and required access level, or describes one.",
      TrustLevel::Local,
      [](Context&, const Registry& registry, const std::vector<nlohmann::json>& args,
         Reply reply) {
        if (!args.empty()) {
          const std::string name =
              args[0].is_string() ? args[0].get<std::string>() : json_text(args[0]);
          const Command* command = registry.find(name);
          if (command == nullptr) {
            reply.fail(make_error(errc::not_found, fmt::format("unknown command '{}'", name)));
            return;
          }
          reply.ok({{"command", command->name},
                    {"usage", command->usage},
                    {"description", command->description},
                    {"access", to_string(registry.required_level(command->name))}});
          return;
        }
        nlohmann::json list = nlohmann::json::object();
        for (const auto& [name, command] : registry.all()) {
          list[name] = {{"usage", command.usage},
                        {"access", to_string(registry.required_level(name))}};
        }
        reply.ok({{"commands", list}});
      },
      /*max_args=*/1,
  };
}

}  // namespace cservice::commands
