#include "control/command_line.hpp"

#include "base/json.hpp"

#include <fmt/format.h>

namespace cservice::controlplane {
namespace {

using nlohmann::json;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

Error broken(std::size_t at, std::string_view why) {
  return make_error(errc::bad_request,
                    fmt::format("bad command line at character {}: {}", at + 1, why));
}

// The end of the JSON value that starts at `begin`: matching brackets and strings. npos if the
// line ends first.
std::size_t json_end(std::string_view text, std::size_t begin) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = begin; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        if (depth == 0) return i + 1;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

Result<CommandLine> parse_command_line(std::string_view text) {
  CommandLine line;
  std::size_t i = 0;
  bool first = true;
  while (true) {
    while (i < text.size() && is_blank(text[i])) ++i;
    if (i >= text.size()) break;
    const char c = text[i];
    const std::size_t start = i;
    json value;
    if (c == '{' || c == '[' || c == '"') {
      const std::size_t end = json_end(text, i);
      if (end == std::string_view::npos) {
        return broken(start, c == '"' ? "unclosed string" : "unclosed JSON value");
      }
      value = parse_json(text.substr(i, end - i));
      if (value.is_discarded()) return broken(start, "invalid JSON value");
      i = end;
    } else if (c == '\'') {
      const auto close = text.find('\'', i + 1);
      if (close == std::string_view::npos) return broken(start, "unclosed string");
      value = std::string(text.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      while (i < text.size() && !is_blank(text[i])) ++i;
      const std::string_view word = text.substr(start, i - start);
      const char lead = word[0];
      const bool numeric = (lead >= '0' && lead <= '9') || lead == '-';
      if (numeric || word == "true" || word == "false" || word == "null") {
        value = parse_json(word);
        // "3rd" or "-x" are words, not broken numbers.
        if (value.is_discarded()) value = std::string(word);
      } else {
        value = std::string(word);
      }
    }
    if (i < text.size() && !is_blank(text[i])) return broken(i, "expected a blank after the value");
    if (first) {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return broken(start, "a command line starts with the command's name");
      }
      line.name = value.get<std::string>();
      first = false;
    } else {
      line.args.push_back(std::move(value));
    }
  }
  if (first) return make_error(errc::bad_request, "bad command line: empty");
  return line;
}

}  // namespace cservice::controlplane
