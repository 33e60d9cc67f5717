#include "config/flags.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "base/check.hpp"
#include "base/json.hpp"
#include "config/option_table.hpp"
#include "config/options.hpp"

namespace cservice::config {
namespace {

using nlohmann::json;

struct FlagRef {
  const OptionRow* row;
  const FlagForm* form;
};

// Every flag spelling of the table. Two rows claiming one spelling is a bug of the table.
const std::map<std::string, FlagRef, std::less<>>& flags_by_name() {
  static const auto map = [] {
    std::map<std::string, FlagRef, std::less<>> names;
    for (const auto& row : option_table()) {
      if (row.flags.size() == 1) {
        for (auto& name : row.flag_names()) {
          CSERVICE_CHECK(names.emplace(name, FlagRef{&row, &row.flags[0]}).second,
                         "a flag spelling is claimed by two options");
        }
        continue;
      }
      for (const auto& form : row.flags) {
        for (const auto name : form.names) {
          CSERVICE_CHECK(names.emplace(std::string(name), FlagRef{&row, &form}).second,
                         "a flag spelling is claimed by two options");
        }
      }
    }
    return names;
  }();
  return map;
}

std::optional<bool> bool_word(std::string_view text) {
  if (text == "true" || text == "yes" || text == "1") return true;
  if (text == "false" || text == "no" || text == "0") return false;
  return std::nullopt;
}

// A flag's text as JSON: numbers become typed, anything else stays a string. The validator then
// says what it expected ("expected a whole number ..., got \"abc\"").
json typed(const std::string& text) {
  json value = parse_json(text);
  if (value.is_discarded() || !value.is_number()) return text;
  return value;
}

std::string shown(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

Error usage(std::string message) { return make_error(errc::bad_config, std::move(message)); }

// What a flag's value must be, for "missing value" errors.
std::string expected_value(const OptionRow& row, const FlagForm& form) {
  switch (row.type) {
    case OptionType::Integer:
      return fmt::format("a whole number from {} to {}", row.low, row.high);
    case OptionType::Ratio:
      return "a number from 0 to 1";
    case OptionType::Choice:
      return fmt::format("one of {}", fmt::join(row.choices, ", "));
    default:
      return std::string(form.value_name);
  }
}

// Stores one flag's value into the command line.
Result<void> store(CommandLine& out, std::string& run, const OptionRow& row, const FlagForm& form,
                   std::string_view name, const json& value) {
  if (row.kind == OptionKind::Cli) {
    if (row.key == "help" && value.get<bool>()) out.action = CommandLine::Action::Help;
    if (row.key == "version" && value.get<bool>() && out.action != CommandLine::Action::Help) {
      out.action = CommandLine::Action::Version;
    }
    if (row.key == "json") out.json = value.get<bool>();
    if (row.key == "url") out.url = value.get<std::string>();
    if (row.key == "ca") out.ca_file = value.get<std::string>();
    if (row.key == "config") out.config_file = value.get<std::string>();
    if (row.key == "run") run = value.get<std::string>();
    return {};
  }
  const std::string key(row.key);
  json& options = out.options;
  switch (row.type) {
    case OptionType::List:
      if (!options[key].is_array()) options[key] = json::array();
      options[key].push_back(value);
      break;
    case OptionType::Map: {
      const std::string entry = value.get<std::string>();
      const auto eq = entry.find('=');
      if (eq == std::string::npos || eq == 0) {
        return usage(fmt::format("bad option {} ({}): expected NAME=VALUE, got {}", key, name,
                                 shown(entry)));
      }
      if (!options[key].is_object()) options[key] = json::object();
      options[key][entry.substr(0, eq)] = entry.substr(eq + 1);
      break;
    }
    case OptionType::Integer:
    case OptionType::Ratio:
      options[key] = typed(value.get<std::string>());
      break;
    default:
      if (!form.field.empty()) {
        if (!options[key].is_object()) options[key] = json::object();
        options[key][std::string(form.field)] = value;
      } else {
        options[key] = value;  // a repeated flag: the last one counts
      }
  }
  return {};
}

}  // namespace

Result<CommandLine> parse_command_line(int argc, const char* const* argv) {
  CommandLine out;
  out.options = json::object();
  out.help = options_help();
  std::string run;
  const auto& flags = flags_by_name();

  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") {
      // Everything after the first "--" belongs to the program, untouched.
      if (i + 1 < argc) out.options["args"] = std::vector<std::string>(argv + i + 1, argv + argc);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      if (!out.target.empty()) {
        return usage(
            fmt::format("unexpected argument {} after {}: a program's arguments go "
                        "after --, and a command line to send goes in quotes",
                        shown(arg), shown(out.target)));
      }
      out.target = arg;
      continue;
    }
    // --name, --name=value; -n, -nVALUE, -n=VALUE.
    std::string_view name = arg;
    std::optional<std::string_view> attached;
    if (arg.starts_with("--")) {
      if (const auto eq = arg.find('='); eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        attached = arg.substr(eq + 1);
      }
    } else if (arg.size() > 2) {
      name = arg.substr(0, 2);
      attached = arg.substr(arg[2] == '=' ? 3 : 2);
    }
    const auto found = flags.find(name);
    if (found == flags.end()) {
      std::vector<std::string> known;
      for (const auto& [spelling, ref] : flags) {
        if (spelling.starts_with("--")) known.push_back(spelling);
      }
      const std::string near = name.starts_with("--") ? nearest_name(name, known) : "";
      return usage(fmt::format("unknown option {}{}", std::string(name),
                               near.empty() ? "" : fmt::format(" (did you mean {}?)", near)));
    }
    const OptionRow& row = *found->second.row;
    const FlagForm& form = *found->second.form;
    json value;
    if (row.type == OptionType::Bool) {
      std::optional<bool> b = true;
      if (attached) {
        b = bool_word(*attached);
        if (!b) {
          return usage(
              fmt::format("bad option {} ({}): expected true or false (or yes, no, 1, "
                          "0), got {}",
                          row.key, name, shown(*attached)));
        }
      } else if (i + 1 < argc && bool_word(argv[i + 1])) {
        b = bool_word(argv[++i]);
      }
      value = *b;
    } else if (attached) {
      value = std::string(*attached);
    } else if (i + 1 < argc && !std::string_view(argv[i + 1]).starts_with("--")) {
      value = std::string(argv[++i]);
    } else {
      return usage(
          fmt::format("missing value for {}: expected {}", name, expected_value(row, form)));
    }
    if (auto stored = store(out, run, row, form, name, value); !stored) return stored.error();
  }

  if (out.action != CommandLine::Action::Serve) return out;
  if (!run.empty()) {
    if (!out.target.empty()) {
      return usage(
          fmt::format("unexpected argument {}: --run takes the command line, so give no "
                      "program with it",
                      shown(out.target)));
    }
    out.action = CommandLine::Action::Remote;
    out.target = run;
  }
  if (out.target.empty() && out.config_file.empty()) {
    return usage("no program given: cservice [options] <program|service.json> [-- args...]");
  }
  // Started as cserviced: serve in the background.
  const std::string_view program_name = argv[0];
  if ((program_name == "cserviced" || program_name.ends_with("/cserviced")) &&
      !out.options.contains("daemon")) {
    out.options["daemon"] = true;
  }
  return out;
}

Result<json> read_config_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) return os_error(fmt::format("config {}", path), errno);
  std::stringstream text;
  text << file.rdbuf();
  const std::string content = text.str();
  try {
    return json::parse(content);
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based offset of the character that broke the parse.
    const std::size_t end = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, content.size());
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < end; ++i) {
      if (content[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    // nlohmann's text is "[json.exception...] parse error at line L, column C: syntax error
    // while parsing value - REASON": keep REASON.
    std::string reason = e.what();
    if (const auto dash = reason.find(" - "); dash != std::string::npos) {
      reason.erase(0, dash + 3);
    } else if (const auto colon = reason.find(": "); colon != std::string::npos) {
      reason.erase(0, colon + 2);
    }
    if (content.find_first_not_of(" \t\r\n") == std::string::npos) {
      line = 1;
      column = 1;
      reason = "the file is empty";
    }
    return make_error(errc::bad_config,
                      fmt::format("config {}: not valid JSON at line {}, column {}: {}", path, line,
                                  column, reason));
  }
}

Result<Options> load(const CommandLine& command_line) {
  const std::string& target = command_line.target;
  struct stat st {};
  const bool target_is_file =
      target.ends_with(".json") && ::stat(target.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  if (!command_line.config_file.empty() && target_is_file) {
    return usage(fmt::format("two service files, --config {} and {}: give one",
                             shown(command_line.config_file), shown(target)));
  }
  const std::string path = target_is_file ? target : command_line.config_file;
  if (path.empty()) {
    json merged = command_line.options;
    merged["program"] = target;
    return from_json(merged, "");
  }
  auto file = read_config_file(path);
  if (!file) return file.error();
  if (!file->is_object()) {
    return usage(fmt::format("config {}: expected a JSON object of options, got {}", path,
                             file->type_name()));
  }
  // A flag replaces the file's key under whichever spelling the file uses (`restartonFailure`).
  const auto replace = [&](const std::string& key, const json& value) {
    if (const OptionRow* row = find_option(key); row != nullptr) {
      for (const auto alias : row->aliases) file->erase(std::string(alias));
    }
    (*file)[key] = value;
  };
  if (!target_is_file && !target.empty()) {
    // The program given beside --config replaces the file's, and is found as a program given
    // alone would be: from the current directory.
    const bool here = target.find('/') != std::string::npos || ::access(target.c_str(), F_OK) == 0;
    replace("program", here ? absolute_path(target) : target);
  }
  for (const auto& [key, value] : command_line.options.items()) {
    // --ssl-key or --ssl-cert alone replaces that file of the service.json's `ssl`.
    if (key == "ssl" && file->contains(key) && (*file)[key].is_object()) {
      for (const auto& [field, file_path] : value.items()) (*file)[key][field] = file_path;
    } else {
      replace(key, value);
    }
  }
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
  auto options = from_json(*file, dir);
  if (!options) {
    return usage(fmt::format("config {}: {}", path, options.error().message));
  }
  return options;
}

}  // namespace cservice::config
