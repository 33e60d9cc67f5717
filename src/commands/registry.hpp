#pragma once
// Registry holds the service's commands by name: the built-ins, then custom ones, which replace
// a built-in of the same name. It also holds level overrides (config `control`, and later the
// library's control()), which win over a command's own default level.

#include "commands/command.hpp"
#include "supervisor/rollout.hpp"
#include "supervisor/types.hpp"

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
  // The level a caller needs for `name`, which is not a command (GET /events): the override if
  // any, else `default_level`.
  TrustLevel required_level(const std::string& name, TrustLevel default_level) const {
    const auto it = overrides_.find(name);
    return it != overrides_.end() ? it->second : default_level;
  }

 private:
  std::map<std::string, Command> commands_;
  std::map<std::string, TrustLevel> overrides_;
};

// Adds every built-in command.
void add_builtins(Registry& registry);

// One per file under commands/.
Command help_command();
Command workers_command();
Command health_command();
Command info_command();
Command version_command();
Command restart_command();
Command upgrade_command();
Command shutdown_command();
Command start_command();
Command exit_command();
Command test_command();
Command rollback_command();
Command operations_command();
Command wait_command();
Command cancel_command();

// Argument helpers for the built-ins.
// "all" -> nullopt; a pid -> that pid. Anything else is a bad request naming `command`.
Result<std::optional<Pid>> parse_target(const std::string& command,
                                        const std::vector<nlohmann::json>& args, std::size_t at);
// The options object at args[at] (an empty object if absent); an error if it is something else
// or has a key outside `allowed`.
Result<nlohmann::json> parse_options(const std::string& command,
                                     const std::vector<nlohmann::json>& args, std::size_t at,
                                     std::initializer_list<const char*> allowed);
// The longest timeout a command takes: a week (a larger one would overflow its deadline).
inline constexpr Milliseconds kMaxTimeout{7LL * 24 * 3600 * 1000};
// options[key] in milliseconds, if given (a whole number from 0 to kMaxTimeout); an error names
// `command` and `key`.
Result<std::optional<Milliseconds>> milliseconds_option(const std::string& command,
                                                        const nlohmann::json& options,
                                                        const char* key);
// options["timeout"] in milliseconds, if given (a whole number from 0 to kMaxTimeout).
Result<std::optional<Milliseconds>> timeout_option(const std::string& command,
                                                   const nlohmann::json& options);

// The seed's positional arguments beside the options object: args[at...] are `[positional...]
// [{options}]`. Each positional value goes to the next name of `positional` it fits ("cwd": a
// string; "timeout": milliseconds, a whole number >= 0; a number where cwd could stand is the
// timeout), unless the object gives that name too (the object wins). Returns the merged options;
// an error names the command and the bad argument.
Result<nlohmann::json> parse_trailing(const std::string& command,
                                      const std::vector<nlohmann::json>& args, std::size_t at,
                                      std::initializer_list<const char*> positional,
                                      std::initializer_list<const char*> allowed);

// The usual shape `command all|pid [positional...] [{options}]`: the target at args[0], then
// parse_trailing from args[at], and the timeout.
struct TargetArgs {
  std::optional<Pid> target;  // nullopt: all
  nlohmann::json options;
  std::optional<Milliseconds> timeout;
};
Result<TargetArgs> parse_target_args(const std::string& command,
                                     const std::vector<nlohmann::json>& args, std::size_t at,
                                     std::initializer_list<const char*> positional,
                                     std::initializer_list<const char*> allowed);

// The program an operator named, made absolute (against the master's working directory) and
// checked to be executable, so a typo is a clear error before anything starts.
Result<std::string> checked_program(const std::string& command, const nlohmann::json& arg);

// Applies the options `cwd` (a directory) and `args` (an array of strings), where given, to
// `spec`; an error names `command` and the bad option. The cwd is resolved through every link;
// without a `cwd` option, a cwd that `spec` got through a link is resolved again.
Result<void> apply_program_options(const std::string& command, const nlohmann::json& options,
                                   supervisor::ProgramSpec& spec);

// The rollout options of upgrade and rollback, where given, into `request`: monitor, bake and
// testTimeout (ms), batch (workers at a time), test (a script: the gate, run as the test command
// runs it, time-out testTimeout, default kDefaultGateTimeout) and testArgs. An error names
// `command` and the bad option.
inline constexpr Milliseconds kDefaultGateTimeout{5 * 60 * 1000};
Result<void> apply_pipeline_options(const std::string& command, const nlohmann::json& options,
                                    Context& context, supervisor::RolloutRequest& request);

// Answers `reply` when a long supervisor operation is over: `begin` gets the completion to
// hand to the supervisor; an error from `begin` itself answers at once. The long commands use
// run_operation (run_operation.hpp) instead, which builds on this where no operations are kept.
void answer_when_done(
    Reply reply,
    const std::function<Result<void>(std::function<void(Result<nlohmann::json>)>)>& begin);

// `value` as JSON text, for an error message or an answer. Never throws: a string that is not
// UTF-8 (a bare word of a command line may hold any bytes) is written with U+FFFD in place of
// each bad sequence, where dump() would throw.
std::string json_text(const nlohmann::json& value);

// The milliseconds between two time points, for results.
long long milliseconds_between(TimePoint from, TimePoint to);

}  // namespace cservice::commands
