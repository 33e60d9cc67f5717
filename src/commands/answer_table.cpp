#include "commands/answer_table.hpp"

#include "base/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

namespace cservice::commands {
namespace {

using nlohmann::json;

constexpr std::string_view kGreen = "\x1b[32m";
constexpr std::string_view kYellow = "\x1b[33m";
constexpr std::string_view kRed = "\x1b[31m";
constexpr std::string_view kBold = "\x1b[1m";
constexpr std::string_view kReset = "\x1b[0m";

// One cell: its text and the colour it is shown in (empty: none).
struct Cell {
  std::string text;
  std::string_view color{};
};
using Row = std::vector<Cell>;

// Columns are as wide as their longest text in characters, not bytes (a program path may hold
// UTF-8), so count the bytes that start a character.
std::size_t width_of(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string_view color_of_state(std::string_view state) {
  if (state == "ready" || state == "ok") return kGreen;
  if (state == "starting" || state == "degraded" || state == "mixed") return kYellow;
  if (state == "stopping" || state == "exited" || state == "crash-loop") return kRed;
  return {};
}

// `value` as a cell's text: a string as it is, anything else as JSON; made safe for a terminal.
std::string text_of(const json& value) {
  if (value.is_null()) return "-";
  const std::string raw =
      value.is_string() ? value.get<std::string>()
                        : value.dump(-1, ' ', false, json::error_handler_t::replace);
  return sanitize_text(raw, 200);
}

// The rows aligned under a bold header, two blanks between columns; the last column is not
// padded, so no line ends in blanks.
std::string render(const Row& header, const std::vector<Row>& rows, Colors colors) {
  std::vector<std::size_t> widths;
  const auto measure = [&widths](const Row& row) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], width_of(row[i].text));
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  std::string out;
  const auto line = [&](const Row& row, std::string_view all_color) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out += "  ";
      const std::string_view color = all_color.empty() ? row[i].color : all_color;
      const bool paint = colors == Colors::On && !color.empty();
      if (paint) out += color;
      out += row[i].text;
      if (paint) out += kReset;
      // Padding after the colour's end, so a copied line carries no coloured blanks.
      if (i + 1 < row.size()) out.append(widths[i] - width_of(row[i].text), ' ');
    }
    out += '\n';
  };
  if (!header.empty()) line(header, kBold);
  for (const auto& row : rows) line(row, {});
  return out;
}

// The name and value lines of info and health: `known` first, in this order, each shown by its
// formatter; then every other member of `result`, as JSON text.
using Formatter = Cell (*)(const json& value);
Cell duration_ms(const json& value);
std::string name_value_table(const json& result,
                             const std::vector<std::pair<std::string, Formatter>>& known,
                             Colors colors) {
  std::vector<Row> rows;
  std::set<std::string> shown;
  for (const auto& [key, format] : known) {
    const auto it = result.find(key);
    if (it == result.end()) continue;
    // A time in ms is shown in human units: its name loses the unit (uptimeMs: uptime).
    const bool in_ms = format == &duration_ms && key.ends_with("Ms");
    rows.push_back({{in_ms ? key.substr(0, key.size() - 2) : key, {}}, format(*it)});
    shown.insert(key);
  }
  for (const auto& [key, value] : result.items()) {
    if (!shown.contains(key)) rows.push_back({{sanitize_text(key, 100), {}}, {text_of(value)}});
  }
  return render({}, rows, colors);
}

Cell plain(const json& value) { return {text_of(value)}; }

Cell duration_ms(const json& value) {
  if (!value.is_number()) return plain(value);
  return {human_duration(value.get<double>() / 1000.0)};
}

Cell words(const json& value) {
  if (!value.is_array()) return plain(value);
  std::string text;
  for (const auto& word : value) {
    if (!text.empty()) text += ' ';
    text += text_of(word);
  }
  return {text};
}

Cell state(const json& value) {
  Cell cell = plain(value);
  cell.color = color_of_state(cell.text);
  return cell;
}

// {"ready": 3, "starting": 1} -> "ready 3, starting 1".
Cell by_state(const json& value) {
  if (!value.is_object()) return plain(value);
  std::string text;
  for (const auto& [name, count] : value.items()) {
    if (!text.empty()) text += ", ";
    text += fmt::format("{} {}", sanitize_text(name, 100), text_of(count));
  }
  return {text.empty() ? "none" : text};
}

// The program a `previous` object names, with its args.
Cell program_of(const json& value) {
  if (!value.is_object() || !value.contains("program")) return plain(value);
  std::string text = text_of(value["program"]);
  if (value.contains("args")) text += fmt::format(" {}", words(value["args"]).text);
  return {text};
}

std::string file_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::optional<std::string> workers_table(const json& result, Colors colors) {
  if (!result.is_object() || !result.contains("workers") || !result["workers"].is_array()) {
    return std::nullopt;
  }
  const json& workers = result["workers"];
  // Each listed worker, and a rollout's replacement after the one it replaces.
  struct Item {
    const json* worker;
    bool incoming;
  };
  std::vector<Item> items;
  for (const auto& worker : workers) {
    if (!worker.is_object() || !worker.contains("id")) return std::nullopt;
    items.push_back({&worker, false});
    if (worker.contains("incoming") && worker["incoming"].is_object()) {
      items.push_back({&worker["incoming"], true});
    }
  }
  // File names, unless two different programs share one.
  std::map<std::string, std::set<std::string>> paths_by_name;
  for (const auto& item : items) {
    if (const auto it = item.worker->find("program"); it != item.worker->end() && it->is_string()) {
      paths_by_name[file_name(it->get<std::string>())].insert(it->get<std::string>());
    }
  }
  const bool full_paths = std::any_of(paths_by_name.begin(), paths_by_name.end(),
                                      [](const auto& entry) { return entry.second.size() > 1; });

  struct Column {
    std::string_view title;
    Cell (*cell)(const json& worker, bool full_paths);
    std::string_view key;  // the member it shows: a column none of the workers has is left out
  };
  static const std::vector<Column> columns = {
      {"PID", [](const json& w, bool) { return plain(w.value("pid", json())); }, "pid"},
      {"PROGRAM",
       [](const json& w, bool full) {
         const json program = w.value("program", json());
         if (!program.is_string() || full) return plain(program);
         return Cell{sanitize_text(file_name(program.get<std::string>()), 200)};
       },
       "program"},
      {"STATE",
       [](const json& w, bool) {
         return w.value("crashLoop", false) ? state("crash-loop") : state(w.value("state", json()));
       },
       "state"},
      {"REASON", [](const json& w, bool) { return plain(w.value("reason", json())); }, "reason"},
      {"UPTIME", [](const json& w, bool) { return duration_ms(w.value("uptimeMs", json())); },
       "uptimeMs"},
      {"RESTARTS", [](const json& w, bool) { return plain(w.value("restarts", json())); },
       "restarts"},
      {"MEMORY",
       [](const json& w, bool) {
         const json rss = w.value("rssBytes", json());
         return rss.is_number() ? Cell{human_bytes(rss.get<double>())} : plain(rss);
       },
       "rssBytes"},
      {"CPU",
       [](const json& w, bool) {
         const json cpu = w.value("cpuSeconds", json());
         return cpu.is_number() ? Cell{human_duration(cpu.get<double>())} : plain(cpu);
       },
       "cpuSeconds"},
      {"STATUS",
       [](const json& w, bool) {
         return w.contains("status") ? plain(w["status"]) : Cell{""};
       },
       "status"},
  };
  Row header = {{"ID"}};
  std::vector<const Column*> used;
  for (const auto& column : columns) {
    const bool any = std::any_of(items.begin(), items.end(), [&column](const Item& item) {
      return item.worker->contains(column.key);
    });
    if (!any) continue;
    used.push_back(&column);
    header.push_back({std::string(column.title)});
  }
  std::vector<Row> rows;
  std::string id;
  for (const auto& item : items) {
    const json& worker = *item.worker;
    if (!item.incoming) id = text_of(worker["id"]);
    Row row = {{item.incoming ? id + "+" : id}};
    for (const Column* column : used) row.push_back(column->cell(worker, full_paths));
    rows.push_back(std::move(row));
  }
  return render(header, rows, colors);
}

std::optional<std::string> info_table(const json& result, Colors colors) {
  if (!result.is_object() || !result.contains("pid") || !result.contains("workersByState")) {
    return std::nullopt;
  }
  return name_value_table(result,
                          {{"pid", plain},
                           {"version", plain},
                           {"program", plain},
                           {"args", words},
                           {"cwd", plain},
                           {"uptimeMs", duration_ms},
                           {"workerCount", plain},
                           {"workersByState", by_state},
                           {"restarts", plain},
                           {"previous", program_of}},
                          colors);
}

std::optional<std::string> health_table(const json& result, Colors colors) {
  if (!result.is_object() || !result.contains("health") || !result["health"].is_string()) {
    return std::nullopt;
  }
  return name_value_table(result, {{"health", state}, {"reason", plain}}, colors);
}

}  // namespace

Colors colors_for(ColorChoice choice, bool terminal, const char* no_color, const char* term) {
  switch (choice) {
    case ColorChoice::Always: return Colors::On;
    case ColorChoice::Never: return Colors::Off;
    case ColorChoice::Auto: break;
  }
  if (!terminal) return Colors::Off;
  if (no_color != nullptr && *no_color != '\0') return Colors::Off;
  if (term != nullptr && std::string_view(term) == "dumb") return Colors::Off;
  return Colors::On;
}

std::optional<std::string> answer_table(std::string_view command, const json& result,
                                        Colors colors) {
  if (command == "workers") return workers_table(result, colors);
  if (command == "info") return info_table(result, colors);
  if (command == "health") return health_table(result, colors);
  return std::nullopt;
}

std::string human_bytes(double bytes) {
  if (!(bytes >= 0)) return "-";
  if (bytes < 1024) return fmt::format("{} B", static_cast<long long>(bytes));
  static constexpr std::string_view kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = bytes / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string human_duration(double seconds) {
  if (!(seconds >= 0)) return "-";
  if (seconds < 60) return fmt::format("{:.1f} s", std::floor(seconds * 10) / 10);
  const auto whole = static_cast<long long>(seconds);
  if (whole < 3600) return fmt::format("{}m {:02}s", whole / 60, whole % 60);
  if (whole < 86400) return fmt::format("{}h {:02}m", whole / 3600, whole % 3600 / 60);
  return fmt::format("{}d {:02}h", whole / 86400, whole % 86400 / 3600);
}

}  // namespace cservice::commands
