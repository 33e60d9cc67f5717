#pragma once
// The master's log: one line per call, written whole to stderr with a "cservice: " prefix.
// Lines from workers are relayed elsewhere (runtime/stdio_relay). Never log an access key.
// A message is made one printable line of at most 16 KiB (base/text.hpp, backslashes kept) before
// it reaches the sink, so no value inside it can start a line of its own; values from outside
// are escaped where they enter (sanitize_text), and repeated warnings from outside are limited
// (base/rate_limiter.hpp).
// While the runtime runs, lines go through its stderr sink (runtime/master_output), which never
// blocks the loop; the default sink below is for before and after, and for the CLI.

#include <fmt/format.h>

#include <functional>
#include <string>
#include <string_view>

namespace cservice::log {

enum class Level { Info, Warning, Error };

// Where lines go. The default writes to stderr; tests may capture. set_sink() returns the sink
// it replaces (empty: the default), for the caller to put back.
using Sink = std::function<void(Level, std::string_view line)>;
Sink set_sink(Sink sink);
void reset_sink();

// The line the default sink writes for `message`: prefix, message, '\n'.
std::string format_line(Level level, std::string_view message);

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
