#include "runtime/notify_message.hpp"

#include "base/text.hpp"

#include <charconv>
#include <cstdint>

namespace cservice::runtime {

std::optional<NotifyMessage> parse_notify(std::string_view datagram) {
  if (datagram.size() > kMaxNotifyDatagram) return std::nullopt;
  if (datagram.find('\0') != std::string_view::npos) return std::nullopt;
  NotifyMessage message;
  while (!datagram.empty()) {
    const auto newline = datagram.find('\n');
    const std::string_view line = datagram.substr(0, newline);
    datagram.remove_prefix(newline == std::string_view::npos ? datagram.size() : newline + 1);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      ++message.ignored;
      continue;
    }
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = line.substr(eq + 1);
    if (key == "READY" && value == "1") {
      message.ready = true;
    } else if (key == "READY" && value == "0") {
      message.not_ready = true;
    } else if (key == "STOPPING" && value == "1") {
      message.stopping = true;
    } else if (key == "WATCHDOG" && value == "1") {
      message.watchdog = true;
    } else if (key == "STATUS") {
      message.status = sanitize_text(value);
    } else if (key == "EXTEND_TIMEOUT_USEC") {
      std::uint64_t usec = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), usec);
      if (ec == std::errc() && end == value.data() + value.size() && !value.empty() &&
          usec <= 365ULL * 24 * 3600 * 1000000) {
        message.extend_timeout = std::chrono::microseconds(usec);
      } else {
        ++message.ignored;
      }
    } else {
      ++message.ignored;
    }
  }
  return message;
}

}  // namespace cservice::runtime
