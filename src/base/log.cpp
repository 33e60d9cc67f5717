#include "base/log.hpp"

#include <cerrno>
#include <poll.h>
#include <unistd.h>

namespace cservice::log {
namespace {

Sink& sink() {
  static Sink current;
  return current;
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

void set_sink(Sink s) { sink() = std::move(s); }
void reset_sink() { sink() = nullptr; }

void write(Level level, std::string_view message) {
  if (sink()) {
    sink()(level, message);
    return;
  }
  std::string line(prefix(level));
  line += message;
  line += '\n';
  // One write per line: a line is never torn by a concurrent writer on the same pipe.
  (void)write_all(STDERR_FILENO, line);
}

bool write_all(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        // A non-blocking stdout that is full: wait until it drains rather than lose lines.
        pollfd pfd{fd, POLLOUT, 0};
        (void)::poll(&pfd, 1, -1);
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace cservice::log
