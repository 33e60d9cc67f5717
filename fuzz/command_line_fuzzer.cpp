// Fuzzes the command-line parser (control/command_line.hpp) with any bytes, as typed at the
// console or sent in `cmd=`. Checks: a parsed line has a name; and where every string in it is
// valid UTF-8, writing it back out (the name and each argument as JSON) parses to the same line.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/check.hpp"
#include "control/command_line.hpp"

namespace {

using cservice::controlplane::CommandLine;
using cservice::controlplane::parse_command_line;
using nlohmann::json;

// The line as JSON values separated by blanks; nullopt if a string is not valid UTF-8 (JSON
// cannot carry it, while a bare word can).
std::optional<std::string> written(const CommandLine& line) {
  try {
    std::string text = json(line.name).dump();
    for (const auto& arg : line.args) text += " " + arg.dump();
    return text;
  } catch (const json::type_error&) {
    return std::nullopt;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto line = parse_command_line(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!line) return 0;
  CSERVICE_CHECK(!line->name.empty(), "a parsed line has a name");
  const auto text = written(*line);
  if (!text) return 0;
  const auto again = parse_command_line(*text);
  CSERVICE_CHECK(again.has_value(), "a written line parses");
  CSERVICE_CHECK(again->name == line->name, "the name survives writing and parsing");
  CSERVICE_CHECK(again->args == line->args, "the arguments survive writing and parsing");
  return 0;
}
