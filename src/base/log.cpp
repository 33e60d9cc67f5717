#include "base/log.hpp"

#include "base/text.hpp"

#include <algorithm>
#include <cerrno>
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

std::string_view prefix(Level level) {
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
  std::string line(prefix(level));
  line += message;
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
