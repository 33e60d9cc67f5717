#pragma once
// The master's log: one line per call, written whole to stderr with a "cservice: " prefix.
// Lines from workers are relayed elsewhere (runtime/stdio_relay). Never log an access key.

#include <fmt/format.h>

#include <functional>
#include <string>
#include <string_view>

namespace cservice::log {

enum class Level { Info, Warning, Error };

// Where lines go. The default writes to stderr; tests may capture.
using Sink = std::function<void(Level, std::string_view line)>;
void set_sink(Sink sink);
void reset_sink();

void write(Level level, std::string_view message);

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

// Writes all of `data` to `fd`, retrying short writes and EINTR. Returns false on error.
bool write_all(int fd, std::string_view data) noexcept;

}  // namespace cservice::log
