#pragma once
// RestartHistory decides whether a failed worker slot may restart: at most `limit` restarts in
// any sliding minute (the seed's restartsPerMinute, counted per worker). Pure logic.

#include "base/clock.hpp"

#include <cstdint>
#include <deque>

namespace cservice::supervisor {

class RestartHistory {
 public:
  // Records a restart at `now` and returns true, or returns false (recording nothing) when
  // `limit` restarts already happened in the minute before `now`.
  bool try_restart(TimePoint now, std::uint32_t limit);
  // Restarts in the minute before `now`.
  std::size_t recent(TimePoint now);
  void clear() { times_.clear(); }

 private:
  void forget_before(TimePoint now);
  std::deque<TimePoint> times_;
};

}  // namespace cservice::supervisor
