#pragma once
// A command line, as typed at the console or sent in `cmd=`: a command name, then arguments.
//
//   restart all {"timeout": 5000}
//   upgrade 1234 "./build 2/server" {"cwd": "/srv"}
//
// Arguments are separated by blanks. Each is a JSON value when it starts like one (a number,
// true/false/null, an object, an array, or a "double-quoted" string with JSON escapes), a
// 'single-quoted' string taken literally, or else a bare word (a string up to the next blank).
// A malformed line is an error that says where it broke.

#include "base/error.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace cservice::controlplane {

struct CommandLine {
  std::string name;                     // the first word
  std::vector<nlohmann::json> args;     // the rest, typed
};

Result<CommandLine> parse_command_line(std::string_view text);

}  // namespace cservice::controlplane
