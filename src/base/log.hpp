#pragma once
// The master's log: one line per call, written whole to stderr. Never log an access key.
// Lines from workers are relayed elsewhere (runtime/stdio_relay), in the same style.
// A message is made one printable line of at most 16 KiB (base/text.hpp, backslashes kept) before
// it reaches the sink, so no value inside it can start a line of its own; values from outside
// are escaped where they enter (sanitize_text), and repeated warnings from outside are limited
// (base/rate_limiter.hpp).
// While the runtime runs, lines go through its stderr sink (runtime/master_output), which never
// blocks the loop; the default sink below is for before and after, and for the CLI.

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace cservice::log {

enum class Level { Info, Warning, Error };

// How a line looks (Style below). Every form ends in '\n' and is one line whatever the message.
//   Plain  "cservice: warning: message", for the command line's messages to a person (the
//          default, until a service sets its style);
//   Text   "2026-11-28T16:20:01.123Z warn cservice: message": an RFC 3339 time in UTC with
//          milliseconds, the level (info, warn, error), then the message;
//   Json   {"time":"2026-11-28T16:20:01.123Z","level":"warn","message":"..."}: one object per
//          line, valid JSON (and UTF-8) whatever bytes the message holds.
// With `journal` (stderr is systemd's journal, which stamps each line itself), a line starts
// with its syslog priority, "<4>", and Text leaves its time and level out: "<4>cservice: message".
enum class Format { Plain, Text, Json };
struct Style {
  Format format = Format::Plain;
  bool journal = false;
};

using SystemTime = std::chrono::system_clock::time_point;

// The style of every line from now on. Call before other threads log: it is read without a lock.
void set_style(Style style);
Style style();

// Where lines go. The default writes to stderr; tests may capture. set_sink() returns the sink
// it replaces (empty: the default), for the caller to put back.
using Sink = std::function<void(Level, std::string_view line)>;
Sink set_sink(Sink sink);
void reset_sink();

// The line the default sink writes for `message`, in the current style, stamped now.
std::string format_line(Level level, std::string_view message);
// The same in `style`, stamped `time` (for tests: a fixed clock).
std::string format_line(Style style, SystemTime time, Level level, std::string_view message);

// The pieces of a line, for the relayed lines of workers (runtime/stdio_relay):
// "2026-11-28T16:20:01.123Z" (UTC, milliseconds, truncated).
void append_timestamp(std::string& out, SystemTime time);
// `text` as a JSON string, quotes included; bytes that are not UTF-8 become U+FFFD.
void append_json_string(std::string& out, std::string_view text);
// "info", "warn", "error".
std::string_view level_name(Level level);
// The syslog priority of the level: 6, 4, 3.
int syslog_priority(Level level);

void write(Level level, std::string_view message);

// From now on `secret` (an access key) is written "***" wherever it appears in a line, whatever
// path brought it there (a command's error text, a misspelled query parameter). Secrets shorter
// than 4 bytes are not looked for (they would mask ordinary words). Call before other threads
// log: the list is read without a lock.
void redact(std::string secret);

template <class... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  write(Level::Info, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  write(Level::Warning, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
  write(Level::Error, fmt::format(format, std::forward<Args>(args)...));
}

// Writes all of `data` to `fd`, retrying short writes and EINTR. On a non-blocking fd that stays
// full it gives up after a second (the line is lost rather than the process stuck). Returns
// false on error.
bool write_all(int fd, std::string_view data) noexcept;

}  // namespace cservice::log
