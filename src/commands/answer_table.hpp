#pragma once
// Answers for people: on a terminal, the CLI and the consoles show the results of `workers`,
// `info` and `health` as aligned tables, in human units, with the state coloured (as `pm2 ls`
// does). Scripts never see them: --json and pipes get the JSON, unchanged. Pure functions of
// the result, so a result of another shape (a command a service overrides, an original master's
// answer) is simply not a table, and the caller prints the JSON instead.
//
// Every cell is text from the service; it goes through sanitize_text (base/text.hpp), so a
// worker's STATUS= or program name can never send escape sequences to the operator's terminal.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace cservice::commands {

enum class Colors { Off, On };

// --color: auto (colours on a terminal, unless NO_COLOR is set and not empty, or TERM is dumb),
// always, never. A command-line choice wins over NO_COLOR, as no-color.org asks.
enum class ColorChoice { Auto, Always, Never };

// Whether answers get colours. `no_color` and `term` are the environment's values (null: unset).
Colors colors_for(ColorChoice choice, bool terminal, const char* no_color, const char* term);

// The table of `command`'s `result`, lines ending in '\n'; nullopt when `command` has no table
// or the result is not the shape of the built-in's answer.
//   workers: ID PID PROGRAM STATE REASON UPTIME RESTARTS, and MEMORY CPU (`workers details`),
//            STATUS where a worker sent one; a column no worker has a value for is left out; a
//            rollout's replacement is a row of its own ("ID+"). PROGRAM is the file name, or the
//            whole path where two programs share a name (a mixed fleet).
//   info, health: a name and a value per line; members this code does not know are shown too.
// States: ready (and ok) green; starting, degraded and mixed yellow; stopping, exited and
// crash-loop red.
std::optional<std::string> answer_table(std::string_view command, const nlohmann::json& result,
                                        Colors colors);

// Human units: "512 B", "12.3 KiB", "12.3 MiB", "1.2 GiB".
std::string human_bytes(double bytes);
// "350 ms", "12.3 s", "4m 05s", "2h 03m", "3d 04h".
std::string human_duration(double seconds);

}  // namespace cservice::commands
