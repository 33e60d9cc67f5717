#pragma once
// FakeTimer plays the runtime's one timer for the supervisor's unit tests: it is armed only
// through the supervisor's on_schedule hook, as the real one is, so a deadline that some entry
// into the supervisor failed to report never fires here either.

#include <gtest/gtest.h>

#include <optional>

#include "base/clock.hpp"
#include "supervisor/supervisor.hpp"

namespace cservice::supervisor {

class FakeTimer {
 public:
  void attach(Supervisor& supervisor) {
    supervisor.set_on_schedule([this, &supervisor] { armed_ = supervisor.next_deadline(); });
  }
  // Moves `clock` by `d` in one step, then fires the timer as long as it is due.
  void advance(FakeClock& clock, Supervisor& supervisor, Duration d) {
    clock.advance(d);
    for (int fired = 0; armed_ && *armed_ <= clock.now(); ++fired) {
      ASSERT_LT(fired, 1000) << "the timer keeps firing without the deadline moving";
      supervisor.on_timer();
    }
  }
  const std::optional<TimePoint>& armed() const { return armed_; }

 private:
  std::optional<TimePoint> armed_;
};

}  // namespace cservice::supervisor
