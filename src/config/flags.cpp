#include "config/flags.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <deque>
#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>

#include "base/check.hpp"
#include "base/json.hpp"
#include "config/option_table.hpp"
#include "config/options.hpp"

// CLI11 reads the flags: each flag form of the option table is one CLI11 option with all its
// spellings. What CLI11 collects is checked and stored here as JSON (the same object a
// service.json gives), and CLI11's own error texts are never shown: the sentences are ours.

namespace cservice::config {
namespace {

using nlohmann::json;

// What CLI11 puts in an option's results when it is given without a value (`--port` last,
// `--listen --silent`): its default string. No word of argv can hold a NUL, so no user value
// looks like it.
const std::string kNoValue(1, '\0');

// One flag form of the table as CLI11 sees it: the option made from it and the values it
// collected (every one for a repeatable flag, the last one for the others).
struct FlagSlot {
  const OptionRow* row = nullptr;
  const FlagForm* form = nullptr;
  CLI::Option* option = nullptr;
  std::vector<std::string> values{};
};

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

// The form's first long spelling: errors name a flag by it, whichever spelling was typed.
std::string long_name(const FlagForm& form) {
  for (const auto name : form.names) {
    if (name.starts_with("--")) return std::string(name);
  }
  return std::string(form.names.front());
}

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

// Declares every flag form of the table to `app`, one CLI11 option each with all its spellings,
// collecting into a slot of `slots` (a deque: CLI11 keeps a reference to each slot's `values`).
// Throws CLI::ConstructionError if CLI11 refuses a spelling or two rows claim one.
void add_flags(CLI::App& app, std::deque<FlagSlot>& slots) {
  for (const auto& row : option_table()) {
    for (const auto& form : row.flags) {
      if (form.names.empty()) continue;  // the program and its arguments: positional
      const std::vector<std::string> spellings =
          row.flags.size() == 1 ? row.flag_names()
                                : std::vector<std::string>(form.names.begin(), form.names.end());
      const std::string names = fmt::format("{}", fmt::join(spellings, ","));
      FlagSlot& slot = slots.emplace_back(FlagSlot{.row = &row, .form = &form});
      if (row.type == OptionType::Bool) {
        // Bare means true; `--cli=false` gives the value (as text: bool_word() reads it).
        slot.option = app.add_flag(names, slot.values);
      } else {
        // At most one value per occurrence, and only a word that does not look like a flag:
        // `--listen --silent` is a missing value, not the address "--silent".
        slot.option = app.add_option(names, slot.values)
                          ->expected(0, 1)
                          ->allow_extra_args(false)
                          ->default_str(kNoValue);
      }
      slot.option->multi_option_policy(row.repeatable() ? CLI::MultiOptionPolicy::TakeAll
                                                        : CLI::MultiOptionPolicy::TakeLast);
    }
  }
}

// CLI11 reads a flag's value after '=' (`--cli=false`) but a short flag's only when attached
// (`-n4`). Two forms of ours it does not read are respelled here as `--long=VALUE`: a boolean
// flag followed by a boolean word (`--cli false`; `--cli ./server` still names the program),
// and a short flag with '=' (`-n=4`, `-d=false`).
std::vector<std::string> respelled(const CLI::App& app, const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    const bool short_with_value =
        word.size() > 2 && word[0] == '-' && word[1] != '-' && word[2] == '=';
    const std::string name = short_with_value ? word.substr(0, 2) : word;
    const CLI::Option* option = word.starts_with('-') ? app.get_option_no_throw(name) : nullptr;
    if (option == nullptr || option->get_lnames().empty()) {
      out.push_back(word);
    } else if (short_with_value) {
      out.push_back(fmt::format("--{}={}", option->get_lnames().front(), word.substr(3)));
    } else if (option->get_expected_max() == 0 && i + 1 < words.size() && bool_word(words[i + 1])) {
      out.push_back(fmt::format("--{}={}", option->get_lnames().front(), words[++i]));
    } else {
      out.push_back(word);
    }
  }
  return out;
}

Error unknown_option(std::string_view word, const CLI::App& app) {
  // "--name=value" names --name; "-xyz" names -x, as a short flag is read.
  const std::string name(word.starts_with("--") ? word.substr(0, word.find('='))
                                                : word.substr(0, 2));
  std::vector<std::string> known;
  for (const CLI::Option* option : app.get_options()) {
    for (const auto& lname : option->get_lnames()) known.push_back("--" + lname);
  }
  std::sort(known.begin(), known.end());  // ties go to the first in this order
  const std::string near = name.starts_with("--") ? nearest_name(name, known) : "";
  return usage(fmt::format("unknown option {}{}", name,
                           near.empty() ? "" : fmt::format(" (did you mean {}?)", near)));
}

// Stores one flag's value into the command line.
Result<void> store(CommandLine& out, std::optional<std::string>& run, const OptionRow& row, const FlagForm& form,
                   const json& value) {
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
    if (row.key == "color") {
      const std::string choice = value.get<std::string>();
      if (choice == "auto") {
        out.color = commands::ColorChoice::Auto;
      } else if (choice == "always") {
        out.color = commands::ColorChoice::Always;
      } else if (choice == "never") {
        out.color = commands::ColorChoice::Never;
      } else {
        return usage(fmt::format("bad option --color: expected {}, got {}",
                                 expected_value(row, form), shown(choice)));
      }
    }
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
        return usage(fmt::format("bad option {} ({}): expected NAME=VALUE, got {}", key,
                                 long_name(form), shown(entry)));
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
        options[key] = value;
      }
  }
  return {};
}

// Checks every occurrence CLI11 saw of a flag, then stores the values it kept (the last one of
// a scalar flag, all of a repeatable one).
Result<void> store_slot(CommandLine& out, std::optional<std::string>& run, const FlagSlot& slot) {
  const OptionRow& row = *slot.row;
  const FlagForm& form = *slot.form;
  for (const auto& result : slot.option->results()) {
    if (result == kNoValue) {
      return usage(fmt::format("missing value for {}: expected {}", long_name(form),
                               expected_value(row, form)));
    }
    if (row.type == OptionType::Bool && !bool_word(result)) {
      return usage(
          fmt::format("bad option {} ({}): expected true or false (or yes, no, 1, 0), got {}",
                      row.key, long_name(form), shown(result)));
    }
  }
  for (const auto& text : slot.values) {
    const json value = row.type == OptionType::Bool ? json(*bool_word(text)) : json(text);
    if (auto stored = store(out, run, row, form, value); !stored) return stored.error();
  }
  return {};
}

}  // namespace

Result<CommandLine> parse_command_line(int argc, const char* const* argv) {
  CommandLine out;
  out.options = json::object();
  out.help = options_help();
  std::optional<std::string> run;  // --run, even given empty

  // Everything after the first "--" belongs to the program, untouched: CLI11 never sees it.
  const std::vector<std::string> all(argv + std::min(argc, 1), argv + argc);
  // `cservice completion SHELL`: before the flags, as `completion` alone stays a command line
  // for the service (a custom command may have that name).
  if (all.size() == 2 && all[0] == "completion") {
    if (all[1] != "bash") {
      return usage(fmt::format("completion: expected bash, got {}", shown(all[1])));
    }
    out.action = CommandLine::Action::Completion;
    out.target = all[1];
    return out;
  }
  const auto dashes = std::find(all.begin(), all.end(), "--");
  if (dashes != all.end() && dashes + 1 != all.end()) {
    out.options["args"] = std::vector<std::string>(dashes + 1, all.end());
  }

  CLI::App app;
  std::deque<FlagSlot> slots;
  try {
    app.set_help_flag();  // --help is a row of the table, and its text is ours
    app.allow_extras();   // unknown flags and extra words: remaining(), reported below
    app.add_option("program", out.target);
    add_flags(app, slots);
  } catch (const CLI::ConstructionError&) {
    CSERVICE_CHECK(false, "CLI11 refuses a spelling of the option table, or two rows claim one");
  }
  const std::vector<std::string> words =
      respelled(app, std::vector<std::string>(all.begin(), dashes));
  std::vector<std::string> pending(words.rbegin(), words.rend());  // CLI11 reads from the back
  try {
    app.parse(pending);
  } catch (const CLI::Error&) {
    // Not expected with the options above. CLI11's text is not ours to show: name the word it
    // stopped at (the last one it took from `pending`).
    const std::size_t read = words.size() - pending.size();
    return usage(fmt::format("cannot read the command line at {}: see cservice --help",
                             read == 0 ? "its start" : shown(words[read - 1])));
  }

  // CLI11 leaves unknown flags and the words after the program in remaining(), in argv order.
  if (const auto extra = app.remaining(); !extra.empty()) {
    const std::string& word = extra.front();
    if (word.size() > 1 && word.starts_with('-')) return unknown_option(word, app);
    return usage(fmt::format(
        "unexpected argument {} after {}: a program's arguments go after --, and a command "
        "line to send goes in quotes",
        shown(word), shown(out.target)));
  }
  for (const auto& slot : slots) {
    if (auto stored = store_slot(out, run, slot); !stored) return stored.error();
  }

  if (out.action != CommandLine::Action::Serve) return out;
  if (run) {
    if (run->find_first_not_of(" \t") == std::string::npos) {
      return usage("missing value for --run: expected the command line to send");
    }
    if (!out.target.empty()) {
      return usage(
          fmt::format("unexpected argument {}: --run takes the command line, so give no "
                      "program with it",
                      shown(out.target)));
    }
    out.action = CommandLine::Action::Remote;
    out.target = *run;
  }
  if (out.target.empty() && out.config_file.empty()) {
    if (out.options.contains("accessKey") && !out.options.contains("args")) {
      out.action = CommandLine::Action::Console;
      return out;
    }
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
  if (!target_is_file && target.ends_with(".json") && ::stat(target.c_str(), &st) != 0) {
    return os_error(fmt::format("config {}", target), errno);  // a service file, named wrong
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
