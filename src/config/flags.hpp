#pragma once
// Command-line flags for serve mode, parsed with CLI11 into the same JSON object a service.json
// holds, so one validator (options.hpp) checks both. Flags override keys of the file.

#include "base/error.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace cservice::config {

struct CommandLine {
  enum class Action { Serve, Remote, Help, Version };
  Action action = Action::Serve;
  std::string target;       // the program, a .json service file, or (Remote) a command line
  nlohmann::json options;   // from flags (and `args` after --)
  std::string help;         // the text for --help
  bool json = false;        // remote mode: print the raw JSON answer
  std::string url;          // remote mode: http(s)://HOST:PORT of the service (--url)
  std::string ca_file;      // remote mode: the CA of the service's certificate (--ca)
};

// Parses argv. Errors name the bad flag. Does not touch the file system.
Result<CommandLine> parse_command_line(int argc, const char* const* argv);

// Reads a service.json file into a JSON object (errors name the file, line and column).
Result<nlohmann::json> read_config_file(const std::string& path);

// The full options for a command line: the file's keys (if the target is a .json file) with the
// flags on top, validated. The program and relative paths of a file are taken from its folder.
Result<struct Options> load(const CommandLine& command_line);

}  // namespace cservice::config
