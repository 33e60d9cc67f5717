// `cservice --help` and the README's options table, both written from the option table.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/option_table.hpp"

namespace cservice::config {
namespace {

constexpr std::size_t kWidth = 100;
constexpr std::string_view kIndent = "      ";

constexpr std::string_view kHeader =
    R"(cservice runs N copies (workers) of a program, restarts the ones that fail, and stops them
gracefully.

Usage:
  cservice [options] <program> [-- program arguments...]
  cservice [options] <service.json>     (or: --config service.json [program])
  cservice [options] "<command line>"   send a command to the running service
  cserviced ...                         the same as cservice --daemon
  cservice events [--json]              follow the running service's events (GET /events)
  cservice completion bash              print a bash completion script
)";

constexpr std::string_view kFooter = R"(
A boolean flag alone means true; it also takes true/false, yes/no or 1/0 (--cli false,
--cli=false). A flag given twice: the last one counts; a repeatable flag adds a value each time.

Exit status: 0 after a clean stop, 1 on a runtime failure or a stop that had to kill a worker
(it outlived stopTimeoutMs), 2 on bad usage or configuration (nothing is started then).

A service.json holds the same options by their JSON names, e.g.
  {"program": "./server", "workerCount": 4, "listen": ["http=127.0.0.1:8080"]}
Flags given with a service.json override its keys.
)";

std::string_view section_title(OptionSection section) {
  switch (section) {
    case OptionSection::Workers:
      return "Workers";
    case OptionSection::Output:
      return "Output";
    case OptionSection::Control:
      return "REST API and CLI";
    case OptionSection::Daemon:
      return "In the background";
    case OptionSection::General:
      return "General";
    case OptionSection::Remote:
      return "Remote mode (with -k, --host, --port: the service to talk to)";
  }
  return "";
}

std::string without_backticks(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c != '`') out += c;
  }
  return out;
}

// `text` in lines of at most kWidth columns, each starting with kIndent.
std::string wrapped(std::string_view text) {
  std::string out;
  std::string line(kIndent);
  while (!text.empty()) {
    const auto space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text.remove_prefix(space == std::string_view::npos ? text.size() : space + 1);
    if (line.size() > kIndent.size() && line.size() + 1 + word.size() > kWidth) {
      out += line + "\n";
      line = kIndent;
    }
    if (line.size() > kIndent.size()) line += ' ';
    line += word;
  }
  return out + line + "\n";
}

std::string default_of(const OptionRow& row, bool markdown) {
  if (!row.default_text.empty()) return std::string(row.default_text);
  if (row.default_value.is_null()) return "";
  const std::string text = row.default_value.is_string() ? row.default_value.get<std::string>()
                                                         : row.default_value.dump();
  return markdown ? fmt::format("`{}`", text) : text;
}

std::string json_names(const OptionRow& row, std::string_view quote) {
  std::vector<std::string> names = {fmt::format("{}{}{}", quote, row.key, quote)};
  for (const auto alias : row.aliases) names.push_back(fmt::format("{}{}{}", quote, alias, quote));
  return fmt::format("{}", fmt::join(names, ", "));
}

// The flag spellings of a row, each form with its value name: "-n, --worker-count N".
std::string flag_column(const OptionRow& row, std::string_view quote) {
  if (row.type == OptionType::Program) return quote.empty() ? "<program>" : "the first argument";
  if (row.type == OptionType::Arguments) return quote.empty() ? "-- ARGS..." : "after `--`";
  if (row.flags.empty()) return quote.empty() ? "(in service.json only)" : "(JSON only)";
  std::vector<std::string> forms;
  for (const auto& form : row.flags) {
    std::vector<std::string> names;
    if (row.flags.size() == 1) {
      for (const auto& name : row.flag_names())
        names.push_back(fmt::format("{}{}{}", quote, name, quote));
    } else {
      for (const auto name : form.names) names.push_back(fmt::format("{}{}{}", quote, name, quote));
    }
    std::string text = fmt::format("{}", fmt::join(names, ", "));
    if (!form.value_name.empty()) text += fmt::format(" {}", form.value_name);
    forms.push_back(std::move(text));
  }
  std::string text = fmt::format("{}", fmt::join(forms, ", "));
  if (row.repeatable()) text += " (repeatable)";
  return text;
}

}  // namespace

std::string options_help() {
  std::string out(kHeader);
  for (const auto section :
       {OptionSection::Workers, OptionSection::Output, OptionSection::Control,
        OptionSection::Daemon, OptionSection::General, OptionSection::Remote}) {
    out += fmt::format("\n{}:\n", section_title(section));
    for (const auto& row : option_table()) {
      if (row.section != section) continue;
      out += fmt::format("  {}", flag_column(row, ""));
      if (row.kind == OptionKind::Service) out += fmt::format("  [JSON: {}]", json_names(row, ""));
      std::string help = without_backticks(row.help);
      if (const std::string d = default_of(row, false); !d.empty()) {
        help += fmt::format(" (default: {})", d);
      }
      out += '\n';
      out += wrapped(help);
    }
  }
  return out + std::string(kFooter);
}

std::string options_markdown() {
  std::string out = "| flag | JSON key | default | meaning |\n|---|---|---|---|\n";
  for (const auto& row : option_table()) {
    if (row.kind != OptionKind::Service) continue;
    std::string help;  // a '|' escaped, as a table cell needs
    for (const char c : std::string_view(row.help)) {
      if (c == '|') help += '\\';
      help += c;
    }
    out += fmt::format("| {} | {} | {} | {} |\n", flag_column(row, "`"), json_names(row, "`"),
                       default_of(row, true), help);
  }
  return out;
}

}  // namespace cservice::config
