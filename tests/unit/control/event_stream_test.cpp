#include "control/event_stream.hpp"

#include <gtest/gtest.h>

namespace cservice::controlplane {
namespace {

using namespace std::chrono_literals;

const auto kNoon = std::chrono::system_clock::time_point(std::chrono::milliseconds(1714564801123));

EventStream make_stream(EventStreamLimits limits = {}) {
  return EventStream(limits, [] { return kNoon; });
}

TEST(EventStreamTest, AnEventIsOneBlockWithIdNameAndATimestampedJsonLine) {
  EXPECT_EQ(event_block(7, "workerExit", {{"worker", 2}, {"pid", 1234}}, kNoon),
            "id: 7\nevent: workerExit\ndata: {\"data\":{\"pid\":1234,\"worker\":2},\"id\":7,"
            "\"name\":\"workerExit\",\"time\":\"2024-05-01T12:00:01.123Z\"}\n\n");
}

TEST(EventStreamTest, ANameWithALineBreakCannotForgeAField) {
  const std::string block = event_block(1, "x\ndata: forged", nullptr, kNoon);
  EXPECT_NE(block.find("event: x_data: forged\n"), std::string::npos) << block;
}

TEST(EventStreamTest, FollowersGetEachNewEvent) {
  auto events = make_stream();
  auto follower = events.follow(std::nullopt);
  events.publish({"workerStart", {{"worker", 1}}});
  const std::string text = follower->take();
  EXPECT_TRUE(text.starts_with("id: 1\nevent: workerStart\n")) << text;
  EXPECT_EQ(events.followers(), 1u);
}

TEST(EventStreamTest, ResumingStartsRightAfterTheGivenId) {
  auto events = make_stream();
  for (int i = 0; i < 5; ++i) events.publish({"custom", i});
  const std::string text = events.follow(3)->take();
  EXPECT_TRUE(text.starts_with("id: 4\n")) << text;
  EXPECT_NE(text.find("id: 5\n"), std::string::npos);
  EXPECT_EQ(text.find("id: 3\n"), std::string::npos);
}

TEST(EventStreamTest, AnIdOlderThanTheHistoryGetsAMissedEventFirst) {
  auto events = make_stream({.history = 3});
  for (int i = 0; i < 10; ++i) events.publish({"custom", i});
  const std::string text = events.follow(2)->take();
  EXPECT_TRUE(text.starts_with("event: missed\ndata: ")) << text;
  EXPECT_NE(text.find("\"reason\":\"expired\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"firstId\":8"), std::string::npos) << text;
  EXPECT_NE(text.find("id: 8\n"), std::string::npos);
}

TEST(EventStreamTest, AnIdThisMasterNeverGaveReplaysTheHistoryAfterAMissedEvent) {
  auto events = make_stream();
  events.publish({"custom", 1});
  const std::string text = events.follow(500)->take();
  EXPECT_NE(text.find("\"reason\":\"unknown\""), std::string::npos) << text;
  EXPECT_NE(text.find("id: 1\n"), std::string::npos) << text;
}

TEST(EventStreamTest, AFollowerThatDoesNotReadIsDroppedAtItsBound) {
  auto events = make_stream({.max_queued_bytes = 1000});
  auto slow = events.follow(std::nullopt);
  for (int i = 0; i < 20; ++i) events.publish({"custom", std::string(100, 'x')});
  EXPECT_TRUE(slow->overflowed());
  EXPECT_TRUE(slow->ended());
  EXPECT_LE(slow->queued_bytes(), 1000u);
  EXPECT_EQ(events.followers(), 0u);
}

TEST(EventStreamTest, CloseEndsEveryStreamAndSaysWhenTheyAreGone) {
  auto events = make_stream();
  auto follower = events.follow(std::nullopt);
  bool done = false;
  events.close([&done] { done = true; });
  EXPECT_TRUE(follower->ended());
  EXPECT_FALSE(done);
  EXPECT_EQ(events.follow(std::nullopt), nullptr);
  follower.reset();
  EXPECT_TRUE(done);
}

TEST(EventStreamTest, CloseWithoutFollowersIsDoneAtOnce) {
  auto events = make_stream();
  bool done = false;
  events.close([&done] { done = true; });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace cservice::controlplane
