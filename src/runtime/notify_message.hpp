#pragma once
// The sd_notify datagram format (systemd's notify protocol), as the master reads it:
//
//   one datagram = newline-separated KEY=VALUE assignments, at most kMaxNotifyDatagram bytes.
//   READY=1                 the worker is ready
//   READY=0                 not ready yet (a cservice extension; systemd ignores it)
//   STATUS=text             free-form status; kept as sanitize_text() makes it (base/text.hpp):
//                           printable UTF-8, control characters and bad bytes escaped, at most
//                           kMaxTextBytes, so it is safe in a log line and in JSON
//   STOPPING=1              the worker is shutting down by itself
//   EXTEND_TIMEOUT_USEC=n   allow n more microseconds for the current start or stop
//   WATCHDOG=1              liveness ping
// Unknown keys and lines without '=' are ignored; a datagram containing NUL is rejected whole.
// Version of this reading of the format; changes whenever what we accept changes.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cservice::runtime {

inline constexpr int kNotifyProtocolVersion = 1;
inline constexpr std::size_t kMaxNotifyDatagram = 4096;

struct NotifyMessage {
  bool ready = false;
  bool not_ready = false;
  bool stopping = false;
  bool watchdog = false;
  std::optional<std::string> status;
  std::optional<std::chrono::microseconds> extend_timeout;
  std::size_t ignored = 0;  // unknown or malformed lines
};

// Empty optional: the datagram is malformed as a whole and must be dropped.
std::optional<NotifyMessage> parse_notify(std::string_view datagram);

}  // namespace cservice::runtime
