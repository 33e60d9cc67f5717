#include "base/log.hpp"

#include "base/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <iterator>
#include <poll.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace cservice::log {
namespace {

constexpr int kFullWaitMs = 1000;
constexpr std::size_t kMaxLineBytes = 16 * 1024;

Sink& sink() {
  static Sink current;
  return current;
}

Style& current_style() {
  static Style current;
  return current;
}

std::vector<std::string>& secrets() {
  static std::vector<std::string> list;
  return list;
}

void mask_secrets(std::string& message) {
  for (const auto& secret : secrets()) {
    for (auto at = message.find(secret); at != std::string::npos;
         at = message.find(secret, at + 3)) {
      message.replace(at, secret.size(), "***");
    }
  }
}

std::string_view plain_prefix(Level level) {
  switch (level) {
    case Level::Info: return "cservice: ";
    case Level::Warning: return "cservice: warning: ";
    case Level::Error: return "cservice: error: ";
  }
  return "cservice: ";
}

}  // namespace

Sink set_sink(Sink s) { return std::exchange(sink(), std::move(s)); }
void reset_sink() { sink() = nullptr; }

void set_style(Style s) { current_style() = s; }
Style style() { return current_style(); }

std::string_view level_name(Level level) {
  switch (level) {
    case Level::Info: return "info";
    case Level::Warning: return "warn";
    case Level::Error: return "error";
  }
  return "info";
}

int syslog_priority(Level level) {
  switch (level) {
    case Level::Info: return 6;     // LOG_INFO
    case Level::Warning: return 4;  // LOG_WARNING
    case Level::Error: return 3;    // LOG_ERR
  }
  return 6;
}

void append_timestamp(std::string& out, SystemTime time) {
  using namespace std::chrono;
  const auto since_epoch = time.time_since_epoch();
  const auto whole = floor<seconds>(since_epoch);
  const auto millis = duration_cast<milliseconds>(since_epoch - whole).count();
  const std::time_t seconds_since_epoch = static_cast<std::time_t>(whole.count());
  std::tm utc{};
  ::gmtime_r(&seconds_since_epoch, &utc);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                 utc.tm_sec, millis);
}

void append_json_string(std::string& out, std::string_view text) {
  // dump() with `replace` never throws on bytes that are not UTF-8: each becomes U+FFFD.
  out += nlohmann::json(std::string(text))
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void redact(std::string secret) {
  constexpr std::size_t kShortest = 4;
  if (secret.size() < kShortest) return;
  // As the log shows it: a key with a backslash or a control character is escaped there.
  std::string shown = sanitize_text(secret, secret.size() * 4 + 16, Backslashes::Kept);
  if (std::find(secrets().begin(), secrets().end(), shown) == secrets().end()) {
    secrets().push_back(std::move(shown));
  }
}

void write(Level level, std::string_view raw) {
  // Whatever a value inside it holds (a name a worker chose, a path), a message stays one line
  // of valid UTF-8: a '\n' in it cannot start a forged line of ours, an ESC cannot reach a
  // terminal, a NUL or a bad byte cannot upset a log reader.
  std::string message = sanitize_text(raw, kMaxLineBytes, Backslashes::Kept);
  mask_secrets(message);
  if (sink()) {
    sink()(level, message);
    return;
  }
  // One write per line: a line is never torn by a concurrent writer on the same pipe.
  (void)write_all(STDERR_FILENO, format_line(level, message));
}

std::string format_line(Level level, std::string_view message) {
  const Style s = style();
  return format_line(s, s.format == Format::Plain ? SystemTime{} : std::chrono::system_clock::now(),
                     level, message);
}

std::string format_line(Style s, SystemTime time, Level level, std::string_view message) {
  std::string line;
  line.reserve(message.size() + 64);
  if (s.journal) fmt::format_to(std::back_inserter(line), "<{}>", syslog_priority(level));
  switch (s.format) {
    case Format::Plain:
      line += plain_prefix(level);
      line += message;
      break;
    case Format::Text:
      if (!s.journal) {
        append_timestamp(line, time);
        line += ' ';
        line += level_name(level);
        line += ' ';
      }
      line += "cservice: ";
      line += message;
      break;
    case Format::Json:
      // The journal stamps lines too, but a collector reading the objects wants every field.
      line += "{\"time\":\"";
      append_timestamp(line, time);
      line += "\",\"level\":\"";
      line += level_name(level);
      line += "\",\"message\":";
      append_json_string(line, message);
      line += '}';
      break;
  }
  line += '\n';
  return line;
}

bool write_all(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        // Someone else made this description non-blocking and it is full: wait for a reader,
        // within a bound (the loop never calls this; the runtime's sinks do not block).
        pollfd pfd{fd, POLLOUT, 0};
        if (::poll(&pfd, 1, kFullWaitMs) == 0) return false;
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace cservice::log
