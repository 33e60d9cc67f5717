#pragma once
// Command-line flags, parsed from the option table (option_table.hpp) into the same JSON object
// a service.json holds, so one validator (options.hpp) checks both. Flags override keys of the
// file.
//
// Rules: a flag's value follows it (`--port 8080`) or is joined by '=' (`--port=8080`, and for
// a short flag `-n4` or `-n=4`). A boolean flag alone means true; it takes a value only when the
// next word is true/false, yes/no or 1/0 (so `--cli ./server` still names the program), or after
// '='. A flag given twice: the last one counts, as flags override a file; repeatable flags
// (--listen, --env, --commands, --local-network) add one value each time. Everything after "--"
// is the program's arguments.

#include "base/error.hpp"
#include "commands/answer_table.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace cservice::config {

struct CommandLine {
  // Console: no program, but a key: a console for the service already running (the seed's
  // "secondary services act as console-only interfaces").
  // Completion: `cservice completion bash` (exactly these two words) prints the script.
  enum class Action { Serve, Remote, Console, Help, Version, Completion };
  Action action = Action::Serve;
  std::string target;       // the program, a .json service file, or (Remote) a command line
  nlohmann::json options;   // from flags (and `args` after --)
  std::string help;         // the text for --help
  bool json = false;        // remote mode: print the raw JSON answer
  std::string url;          // remote mode: http(s)://HOST:PORT of the service (--url)
  std::string ca_file;      // remote mode: the CA of the service's certificate (--ca)
  std::string config_file;  // --config FILE: a service file (the target, if any, is the program)
  commands::ColorChoice color = commands::ColorChoice::Auto;  // --color auto|always|never
};

// Parses argv. Errors are one sentence naming the flag, the value and what was expected. Does
// not touch the file system.
Result<CommandLine> parse_command_line(int argc, const char* const* argv);

// Reads a service.json file into a JSON object. A bad file is "config FILE: not valid JSON at
// line L, column C: REASON".
Result<nlohmann::json> read_config_file(const std::string& path);

// The full options for a command line: the file's keys (--config FILE, or a target that is a
// .json file) with the flags on top, validated. The program and relative paths of a file are
// taken from its folder; a program given on the command line with --config, from the current
// directory.
Result<struct Options> load(const CommandLine& command_line);

}  // namespace cservice::config
