#include "base/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cservice {
namespace {

using namespace std::chrono_literals;

class RateLimiterTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  RateLimiter limiter_{clock_, 1s};
};

TEST_F(RateLimiterTest, LetsTheFirstLineOfASourceThrough) {
  EXPECT_EQ(limiter_.admit("notify"), 0u);
}

TEST_F(RateLimiterTest, HoldsBackTheRestOfTheSecondAndCountsThem) {
  ASSERT_EQ(limiter_.admit("notify"), 0u);
  for (int i = 0; i < 37; ++i) {
    clock_.advance(10ms);
    EXPECT_FALSE(limiter_.admit("notify"));
  }
  clock_.advance(1s);
  EXPECT_EQ(limiter_.admit("notify"), 37u);  // the next line reports them,
  EXPECT_FALSE(limiter_.admit("notify"));    // and a new second begins.
  clock_.advance(1s);
  EXPECT_EQ(limiter_.admit("notify"), 1u);
}

TEST_F(RateLimiterTest, AFloodGivesOneLinePerSecond) {
  int admitted = 0;
  for (int i = 0; i < 10'000; ++i) {  // 10 s at 1000 lines a second
    if (limiter_.admit("flood")) ++admitted;
    clock_.advance(1ms);
  }
  EXPECT_EQ(admitted, 10);
}

TEST_F(RateLimiterTest, SourcesHaveWindowsOfTheirOwn) {
  ASSERT_EQ(limiter_.admit("notify"), 0u);
  EXPECT_EQ(limiter_.admit("http 401"), 0u);
  EXPECT_FALSE(limiter_.admit("notify"));
  EXPECT_FALSE(limiter_.admit("http 401"));
}

TEST_F(RateLimiterTest, ManySourcesShareOneWindowPastTheLimit) {
  for (std::size_t i = 0; i < RateLimiter::kMaxSources; ++i) {
    ASSERT_EQ(limiter_.admit("source " + std::to_string(i)), 0u);
  }
  EXPECT_EQ(limiter_.admit("one more"), 0u);
  EXPECT_FALSE(limiter_.admit("and another"));
  EXPECT_FALSE(limiter_.admit("and a third"));
  clock_.advance(1s);
  EXPECT_EQ(limiter_.admit("yet another"), 2u);
}

TEST(SuppressedNoteTest, SaysHowManyWereHeldBack) {
  EXPECT_EQ(suppressed_note(0), "");
  EXPECT_EQ(suppressed_note(37), " (37 similar suppressed)");
}

}  // namespace
}  // namespace cservice
