#include "supervisor/restart_history.hpp"

#include <gtest/gtest.h>

namespace cservice::supervisor {
namespace {

using namespace std::chrono_literals;

TEST(RestartHistoryTest, AllowsUpToTheLimitInAMinute) {
  RestartHistory history;
  const TimePoint t0{1h};
  EXPECT_TRUE(history.try_restart(t0, 2));
  EXPECT_TRUE(history.try_restart(t0 + 1s, 2));
  EXPECT_FALSE(history.try_restart(t0 + 2s, 2));
  EXPECT_EQ(history.recent(t0 + 2s), 2u);
}

TEST(RestartHistoryTest, WindowSlides) {
  RestartHistory history;
  const TimePoint t0{1h};
  EXPECT_TRUE(history.try_restart(t0, 1));
  EXPECT_FALSE(history.try_restart(t0 + 59s, 1));
  EXPECT_TRUE(history.try_restart(t0 + 60s, 1));
}

TEST(RestartHistoryTest, ZeroLimitNeverRestarts) {
  RestartHistory history;
  EXPECT_FALSE(history.try_restart(TimePoint{1h}, 0));
}

}  // namespace
}  // namespace cservice::supervisor
