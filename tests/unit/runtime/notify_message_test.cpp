#include "runtime/notify_message.hpp"

#include <gtest/gtest.h>

namespace cservice::runtime {
namespace {

TEST(NotifyMessageTest, ReadsReadyAndStatus) {
  const auto m = parse_notify("READY=1\nSTATUS=serving 4 clients");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->ready);
  EXPECT_EQ(m->status, "serving 4 clients");
  EXPECT_EQ(m->ignored, 0u);
}

TEST(NotifyMessageTest, StatusIsKeptAsPrintableText) {
  const auto m = parse_notify("STATUS=\x1b[2Jred\xff\tdone\\");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, "\\x1b[2Jred\\xff\\tdone\\\\");
}

TEST(NotifyMessageTest, ReadsStoppingWatchdogNotReadyAndExtend) {
  const auto m = parse_notify("STOPPING=1\nWATCHDOG=1\nREADY=0\nEXTEND_TIMEOUT_USEC=2500000\n");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->stopping);
  EXPECT_TRUE(m->watchdog);
  EXPECT_TRUE(m->not_ready);
  EXPECT_FALSE(m->ready);
  EXPECT_EQ(m->extend_timeout, std::chrono::microseconds(2500000));
}

TEST(NotifyMessageTest, IgnoresUnknownAndMalformedLines) {
  const auto m = parse_notify("MAINPID=12\nno equals\nREADY=maybe\nEXTEND_TIMEOUT_USEC=-3\n");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->ready);
  EXPECT_FALSE(m->extend_timeout);
  EXPECT_EQ(m->ignored, 4u);
}

TEST(NotifyMessageTest, RejectsDatagramWithNul) {
  EXPECT_FALSE(parse_notify(std::string_view("READY=1\0x", 9)));
}

TEST(NotifyMessageTest, RejectsOversizedDatagram) {
  EXPECT_FALSE(parse_notify(std::string(kMaxNotifyDatagram + 1, 'A')));
  EXPECT_TRUE(parse_notify(std::string(kMaxNotifyDatagram, 'A')));
}

}  // namespace
}  // namespace cservice::runtime
