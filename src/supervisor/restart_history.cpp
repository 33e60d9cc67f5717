#include "supervisor/restart_history.hpp"

namespace cservice::supervisor {

constexpr Duration kWindow = std::chrono::minutes(1);

void RestartHistory::forget_before(TimePoint now) {
  while (!times_.empty() && now - times_.front() >= kWindow) times_.pop_front();
}

bool RestartHistory::try_restart(TimePoint now, std::uint32_t limit) {
  forget_before(now);
  if (times_.size() >= limit) return false;
  times_.push_back(now);
  return true;
}

std::size_t RestartHistory::recent(TimePoint now) {
  forget_before(now);
  return times_.size();
}

}  // namespace cservice::supervisor
