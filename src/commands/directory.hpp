#pragma once
// Commands from a directory: a plug-in for any language. Each executable file in a commands
// directory is a command named after the file without its extension (`disk-usage.sh` is
// `disk-usage`). It runs with the command's arguments as argv (strings as they are, other JSON
// values as JSON text), stdin from /dev/null, and the service's address and access key in its
// environment (CSERVICE_URL, CSERVICE_HOST, CSERVICE_PORT, CSERVICE_ACCESS_KEY). What it prints
// on stdout is the result: JSON if it parses as JSON, else the text as a string. Exit status 0
// is success; any other fails the command with its stderr (or stdout) as the error. One that
// runs past the time-out is killed with its process group and answered with a time-out error;
// one that prints more than the runner keeps (1 MiB) fails rather than answers a cut result.
//
// Help comes from a sidecar text file NAME.help next to it: the first line is the usage, the
// rest the description. Commands are not run to learn their help: `NAME --help` could run a
// script that ignores its arguments for real.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "commands/command.hpp"
#include "supervisor/types.hpp"

namespace cservice::commands {

struct CommandProgram {
  std::string name;         // "disk-usage"
  std::string path;         // absolute path of the executable
  std::string usage;        // from NAME.help, else "NAME [args...]"
  std::string description;  // from NAME.help, else a note naming the file
};

// The executables of `directories`, by name. An error names a directory that cannot be read,
// or two files that would make the same command.
Result<std::vector<CommandProgram>> scan_command_directories(
    const std::vector<std::string>& directories);

// How a run of a command program ended.
struct ProgramOutcome {
  std::optional<supervisor::ExitStatus> status;  // nullopt: it did not start
  bool timed_out = false;
  std::string out;
  std::string err;
  std::string start_error;
  bool truncated = false;  // it printed more than the runner keeps
};

// The command's answer for `outcome`, as described above.
Result<nlohmann::json> interpret_outcome(const std::string& name, Milliseconds timeout,
                                         const ProgramOutcome& outcome);

// Runs `path` with `args`; `done` gets the outcome, once, on the loop.
using ProgramRunner = std::function<void(const std::string& path, std::vector<std::string> args,
                                         std::function<void(ProgramOutcome)> done)>;

// The Command for `program`: runs it through `runner` (which applies `timeout`).
Command directory_command(const CommandProgram& program, Milliseconds timeout,
                          ProgramRunner runner);

}  // namespace cservice::commands
