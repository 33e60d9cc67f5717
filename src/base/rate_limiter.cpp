#include "base/rate_limiter.hpp"

#include <fmt/format.h>

#include <utility>

namespace cservice {
namespace {

constexpr std::string_view kOtherSources = "(other sources)";

}  // namespace

RateLimiter::RateLimiter(const Clock& clock, Duration interval)
    : clock_(clock), interval_(interval) {}

std::optional<std::uint64_t> RateLimiter::admit(std::string_view source) {
  const TimePoint now = clock_.now();
  auto found = sources_.find(source);
  if (found == sources_.end()) {
    if (sources_.size() >= kMaxSources) source = kOtherSources;
    const auto [it, added] = sources_.try_emplace(std::string(source), Window{now, 0});
    if (added) return 0;
    found = it;
  }
  Window& window = found->second;
  if (now - window.opened < interval_) {
    ++window.held;
    return std::nullopt;
  }
  window.opened = now;
  return std::exchange(window.held, 0);
}

std::string suppressed_note(std::uint64_t held) {
  return held == 0 ? std::string() : fmt::format(" ({} similar suppressed)", held);
}

}  // namespace cservice
