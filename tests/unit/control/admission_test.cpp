#include "control/admission.hpp"

#include <gtest/gtest.h>

namespace cservice::controlplane {
namespace {

namespace ip = boost::asio::ip;
using Verdict = Admission::Verdict;
using namespace std::chrono_literals;

const ip::address kAlice = ip::make_address("10.0.0.1");
const ip::address kBob = ip::make_address("10.0.0.2");

ConnectionId id(std::uint64_t n) { return ConnectionId{n}; }

class AdmissionTest : public ::testing::Test {
 protected:
  // Opens connection `n` from `peer` and authenticates it; returns the verdict.
  Verdict open_and_authenticate(std::uint64_t n, const ip::address& peer = kAlice) {
    EXPECT_FALSE(admission_.open(id(n), peer, now_));
    const auto admit = admission_.authenticated(id(n));
    EXPECT_FALSE(admit.reclaim);
    return admit.verdict;
  }

  Admission::TimePoint now_{};
  Admission admission_{{.slots = 2, .queue = 2, .unauthenticated = 4,
                        .unauthenticated_per_peer = 3, .grace = 1s}};
};

TEST_F(AdmissionTest, AuthenticatedRequestsGetFreeSlotsAtOnce) {
  EXPECT_EQ(open_and_authenticate(1), Verdict::Served);
  EXPECT_EQ(open_and_authenticate(2), Verdict::Served);
  EXPECT_EQ(admission_.served(), 2u);
  EXPECT_EQ(admission_.authenticated(id(1)).verdict, Verdict::Served) << "keeps its slot";
  EXPECT_EQ(admission_.served(), 2u);
}

TEST_F(AdmissionTest, WhenSlotsRunOutRequestsQueueAndAreHandedSlotsInOrder) {
  open_and_authenticate(1);
  open_and_authenticate(2);
  EXPECT_EQ(open_and_authenticate(3), Verdict::Queued);
  EXPECT_EQ(open_and_authenticate(4), Verdict::Queued);
  EXPECT_EQ(admission_.queued(), 2u);

  EXPECT_EQ(admission_.close(id(2)), id(3));  // the first in line gets the freed slot,
  EXPECT_TRUE(admission_.is_served(id(3)));
  EXPECT_FALSE(admission_.released(id(1))) << "4 waits: 1 must close, not idle";
  EXPECT_EQ(admission_.close(id(1)), id(4));  // then the next.
  EXPECT_EQ(admission_.queued(), 0u);
  EXPECT_EQ(admission_.served(), 2u);
}

TEST_F(AdmissionTest, OnlyAFullQueueRefuses) {
  for (std::uint64_t n = 1; n <= 4; ++n) open_and_authenticate(n);
  EXPECT_EQ(open_and_authenticate(5), Verdict::Refused);
  EXPECT_EQ(admission_.close(id(5)), std::nullopt);
  EXPECT_EQ(admission_.queued(), 2u);
}

TEST_F(AdmissionTest, AWaiterThatGivesUpLeavesTheQueue) {
  for (std::uint64_t n = 1; n <= 4; ++n) open_and_authenticate(n);
  EXPECT_EQ(admission_.close(id(3)), std::nullopt);  // its wait expired
  EXPECT_EQ(admission_.queued(), 1u);
  EXPECT_EQ(admission_.close(id(1)), id(4));
}

TEST_F(AdmissionTest, TheLongestIdleKeepAliveConnectionGivesItsSlotToANewRequest) {
  open_and_authenticate(1);
  open_and_authenticate(2);
  EXPECT_TRUE(admission_.released(id(2)));  // idle since first
  EXPECT_TRUE(admission_.released(id(1)));

  ASSERT_FALSE(admission_.open(id(3), kBob, now_));
  const auto admit = admission_.authenticated(id(3));
  EXPECT_EQ(admit.verdict, Verdict::Served);
  EXPECT_EQ(admit.reclaim, id(2));
  EXPECT_FALSE(admission_.is_served(id(2)));
  EXPECT_EQ(admission_.close(id(2)), std::nullopt) << "already forgotten";
  EXPECT_EQ(admission_.served(), 2u);
}

TEST_F(AdmissionTest, ABusyConnectionIsNotReclaimed) {
  open_and_authenticate(1);
  open_and_authenticate(2);
  EXPECT_TRUE(admission_.released(id(1)));
  admission_.busy(id(1));  // its next request began
  EXPECT_EQ(open_and_authenticate(3), Verdict::Queued);
  EXPECT_FALSE(admission_.reclaim_idle());
}

TEST_F(AdmissionTest, WhenAllPlacesAreTakenTheOldestMakesRoomOnceItHadItsGrace) {
  const ip::address peers[] = {ip::make_address("10.0.1.1"), ip::make_address("10.0.1.2"),
                               ip::make_address("10.0.1.3"), ip::make_address("10.0.1.4")};
  for (std::uint64_t n = 1; n <= 4; ++n) {
    EXPECT_FALSE(admission_.room(now_).wait_until);
    EXPECT_FALSE(admission_.open(id(n), peers[n - 1], now_));
    now_ += 100ms;
  }
  // Full, and the oldest came 400 ms ago: no room until it has had its second.
  const auto full = admission_.room(now_);
  EXPECT_FALSE(full.displace);
  EXPECT_EQ(full.wait_until, Admission::TimePoint{} + 1s);

  now_ = Admission::TimePoint{} + 1s;
  const auto room = admission_.room(now_);
  EXPECT_EQ(room.displace, id(1));
  EXPECT_FALSE(room.wait_until);
  EXPECT_EQ(admission_.unauthenticated(), 3u);
  EXPECT_EQ(admission_.authenticated(id(1)).verdict, Verdict::Refused) << "forgotten";
}

TEST_F(AdmissionTest, AnAuthenticatedConnectionLeavesItsPlace) {
  for (std::uint64_t n = 1; n <= 4; ++n) {
    EXPECT_FALSE(admission_.open(id(n), n == 1 ? kAlice : kBob, now_));
  }
  EXPECT_TRUE(admission_.room(now_).wait_until);
  EXPECT_EQ(admission_.authenticated(id(1)).verdict, Verdict::Served);
  EXPECT_FALSE(admission_.room(now_).wait_until);
}

TEST_F(AdmissionTest, APeerOverItsShareLosesItsOwnOldestNotOthers) {
  EXPECT_FALSE(admission_.open(id(1), kBob, now_));
  for (std::uint64_t n = 2; n <= 4; ++n) EXPECT_FALSE(admission_.open(id(n), kAlice, now_));
  now_ += 1s;
  EXPECT_EQ(admission_.open(id(5), kAlice, now_), id(2));
  EXPECT_EQ(admission_.authenticated(id(1)).verdict, Verdict::Served) << "Bob's is untouched";
}

TEST_F(AdmissionTest, APeerMayGoOverItsShareWhileItsConnectionsAreInTheirGrace) {
  for (std::uint64_t n = 1; n <= 4; ++n) EXPECT_FALSE(admission_.open(id(n), kAlice, now_));
  EXPECT_EQ(admission_.unauthenticated(), 4u) << "a burst, not yet suspicious";
}

TEST_F(AdmissionTest, AV4MappedPeerIsItsV4Self) {
  for (std::uint64_t n = 1; n <= 3; ++n) EXPECT_FALSE(admission_.open(id(n), kAlice, now_));
  now_ += 1s;
  EXPECT_EQ(admission_.open(id(4), ip::make_address("::ffff:10.0.0.1"), now_), id(1));
}

TEST_F(AdmissionTest, ClosingFreesEverythingAndUnknownIdsAreIgnored) {
  open_and_authenticate(1);
  EXPECT_FALSE(admission_.open(id(2), kBob, now_));
  EXPECT_EQ(admission_.close(id(1)), std::nullopt);
  EXPECT_EQ(admission_.close(id(2)), std::nullopt);
  EXPECT_EQ(admission_.close(id(99)), std::nullopt);
  admission_.busy(id(99));
  EXPECT_FALSE(admission_.released(id(99)));
  EXPECT_EQ(admission_.served(), 0u);
  EXPECT_EQ(admission_.unauthenticated(), 0u);
}

}  // namespace
}  // namespace cservice::controlplane
