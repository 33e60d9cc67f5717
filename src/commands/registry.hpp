#pragma once
// Registry holds the service's commands by name: the built-ins, then custom ones, which replace
// a built-in of the same name. It also holds level overrides (config `control`, and later the
// library's control()), which win over a command's own default level.

#include "commands/command.hpp"

#include <map>
#include <string>

namespace cservice::commands {

class Registry {
 public:
  // Adds or replaces `command`.
  void add(Command command);
  const Command* find(const std::string& name) const;
  const std::map<std::string, Command>& all() const { return commands_; }

  void override_level(const std::string& name, TrustLevel level) { overrides_[name] = level; }
  // The level a caller needs for `name`: the override if any, else the command's default.
  TrustLevel required_level(const std::string& name) const;

 private:
  std::map<std::string, Command> commands_;
  std::map<std::string, TrustLevel> overrides_;
};

// Adds help, workers, health, info and version.
void add_builtins(Registry& registry);

// One per file under commands/.
Command help_command();
Command workers_command();
Command health_command();
Command info_command();
Command version_command();

// The milliseconds between two time points, for results.
long long milliseconds_between(TimePoint from, TimePoint to);

}  // namespace cservice::commands
