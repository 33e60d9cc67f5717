#pragma once
// The one table of options. Each option of a service is declared here once: its JSON key and
// aliases, its flag spellings, its type, its default and its help line. The JSON loader
// (from_json), the flag parser (parse_command_line), `cservice --help` and the options table of
// README.md are all made from it, so none of them can drift from the others.
//
// A row is one of three kinds:
//   Service  a key of service.json (and of library mode's start()), also given by flags unless
//            it is JSON-only (no flag forms);
//   Cli      a flag of the command line alone (--help, --config, remote mode's --url, ...).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "config/options.hpp"

namespace cservice::config {

enum class OptionKind { Service, Cli };

// Where --help lists a row; the Control rows are also what control_from_json() reads.
enum class OptionSection { Workers, Output, Control, Daemon, General, Remote };

// What a value must be. The flag parser uses it to turn a flag's text into JSON; the loader to
// check the JSON value and to say what it expected.
enum class OptionType {
  Bool,      // true or false; a flag may be bare (true) or take true/false/yes/no/1/0
  Integer,   // a whole number from `low` to `high`
  Ratio,     // a number from 0 to 1
  Text,      // a non-empty string; a flag's value stays text whatever it looks like
  Choice,    // one of `choices`
  List,      // a string or an array of strings; a repeatable flag adds one item each time
  Map,       // an object of NAME: "value"; a repeatable flag adds NAME=value
  Json,      // any JSON the row's own check accepts (JSON only, or a flag sets one field)
  Program,   // the worker program: the first argument on the command line
  Arguments  // the program's arguments: after "--" on the command line
};

// How the flag parser reads one of a row's flag forms.
struct FlagForm {
  std::vector<std::string_view> names{};  // "-n", "--worker-count", ...; empty: positional
  std::string_view field{};               // Json rows: the field of the object this flag sets
  std::string_view value_name{};          // "N", "MS", "FILE" in --help; empty for Bool
};

struct OptionRow;

// What a row's apply() works with: the options being built and the row (for error messages).
struct ApplyContext {
  Options& options;
  const std::string& base_dir;  // relative paths are taken from here (empty: current directory)
  const OptionRow& row;
  std::string_view key;  // the spelling the value was given under (key or alias)

  // "bad option KEY (--flag): expected WHAT, got VALUE" (the value shown as JSON).
  Error bad(std::string_view expected, const nlohmann::json& value) const;
};

struct OptionRow {
  OptionKind kind = OptionKind::Service;
  OptionSection section = OptionSection::Workers;
  std::string_view key{};                   // JSON key (camelCase), or the Cli flag's own name
  std::vector<std::string_view> aliases{};  // other JSON keys accepted (the original's names)
  std::vector<FlagForm> flags{};            // none: JSON only
  OptionType type = OptionType::Text;
  std::int64_t low = 0;  // Integer: range
  std::int64_t high = 0;
  std::vector<std::string_view> choices{};  // Choice
  nlohmann::json default_value{};           // null: none, or `default_text` says what
  std::string_view default_text{};          // shown instead of default_value ("processors")
  std::string_view help{};                  // one line; `code` in backticks for the README

  // Service rows: checks `value` (already of the row's type when the type is not Json) and
  // stores it into ctx.options. Null for Program (resolved last) and Cli rows.
  Result<void> (*apply)(const nlohmann::json& value, ApplyContext& ctx) = nullptr;
  // Service rows: the option's value in `options`, as JSON (for tests: defaults, round trips).
  nlohmann::json (*show)(const Options& options) = nullptr;

  bool repeatable() const { return type == OptionType::List || type == OptionType::Map; }
  bool json_only() const { return kind == OptionKind::Service && flags.empty(); }
  // The first flag spelling ("--worker-count"), or empty.
  std::string_view main_flag() const;
  // Every flag spelling, in the order of `flags`, with the JSON names added as flags
  // (`--workerCount`, `--restartonFailure`) for rows whose flag sets the whole value.
  std::vector<std::string> flag_names() const;
};

// Every row, in the order of --help and of the README table.
const std::vector<OptionRow>& option_table();

// The row whose key or alias is `key` (Service rows only), or null.
const OptionRow* find_option(std::string_view key);

// `cservice --help`.
std::string options_help();

// The README's options table (Markdown), one row per service option.
std::string options_markdown();

// `path` taken from `base` when relative (`base` empty: the current directory).
std::string join_path(const std::string& base, const std::string& path);
// An absolute form of `path` (symlinks kept: a "current" link may be switched by a deploy).
std::string absolute_path(const std::string& path);

// "workerCount" -> "--workerCount".
std::string flag_of_key(std::string_view key);

// The known name nearest to `name` if it is near enough to be a likely typo, else empty: the
// edit distance (case ignored) is at most a third of the name's length (and at least 1).
std::string nearest_name(std::string_view name, const std::vector<std::string>& known);

}  // namespace cservice::config
