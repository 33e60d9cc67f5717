#pragma once
// RateLimiter keeps the master's log readable under a flood (a local process spraying the notify
// socket with garbage, a peer sending keyless requests): it lets one line per source through
// per interval and counts the ones it holds back, for the next line let through to report:
//
//   if (const auto held = limiter.admit("notify: malformed")) {
//     log::warn("notify socket: dropped a malformed datagram from pid {}{}", pid,
//               suppressed_note(*held));   // "... (37 similar suppressed)"
//   }
//
// A source is a kind of line named by the code, never a value from outside: an attacker with
// many pids or addresses must not get a line per second for each. Past kMaxSources distinct
// names, new ones share one window. Pure logic, time from the injected Clock; one thread.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.hpp"

namespace cservice {

class RateLimiter {
 public:
  static constexpr std::size_t kMaxSources = 64;

  // `clock` must outlive the limiter.
  explicit RateLimiter(const Clock& clock, Duration interval = std::chrono::seconds(1));

  // nullopt: hold this line back (it is counted). Otherwise log it; the value is how many lines
  // of `source` were held back since the last one let through.
  std::optional<std::uint64_t> admit(std::string_view source);

 private:
  struct Window {
    TimePoint opened;
    std::uint64_t held = 0;
  };

  const Clock& clock_;
  Duration interval_;
  std::map<std::string, Window, std::less<>> sources_;
};

// " (N similar suppressed)" for a count from admit(), or "" for 0.
std::string suppressed_note(std::uint64_t held);

}  // namespace cservice
