#include "control/access.hpp"

#include <gtest/gtest.h>

namespace cservice::controlplane {
namespace {

namespace ip = boost::asio::ip;

AccessPolicy policy_with_loopback_local() {
  return AccessPolicy({{"secret-one", std::nullopt}, {"reader", std::set<std::string>{"workers", "health"}}},
                      loopback_networks());
}

TEST(AccessTest, EveryLevelAgainstEveryCaller) {
  const auto policy = policy_with_loopback_local();
  const TrustLevel levels[] = {TrustLevel::Remote, TrustLevel::Local, TrustLevel::Inproc};
  for (const TrustLevel caller : levels) {
    for (const TrustLevel required : levels) {
      const bool expected = static_cast<int>(caller) >= static_cast<int>(required);
      EXPECT_EQ(policy.decide("secret-one", caller, "restart", required) == Decision::Allowed,
                expected)
          << to_string(caller) << " calling a " << to_string(required) << " command";
    }
    EXPECT_EQ(policy.decide("secret-one", caller, "restart", TrustLevel::Disabled),
              Decision::Disabled);
  }
}

TEST(AccessTest, PeersOnLoopbackAreLocalOthersRemote) {
  const auto policy = policy_with_loopback_local();
  EXPECT_EQ(policy.peer_level(ip::make_address("127.0.0.1")), TrustLevel::Local);
  EXPECT_EQ(policy.peer_level(ip::make_address("127.9.8.7")), TrustLevel::Local);
  EXPECT_EQ(policy.peer_level(ip::make_address("::1")), TrustLevel::Local);
  EXPECT_EQ(policy.peer_level(ip::make_address("::ffff:127.0.0.1")), TrustLevel::Local);
  EXPECT_EQ(policy.peer_level(ip::make_address("10.0.0.1")), TrustLevel::Remote);
  EXPECT_EQ(policy.peer_level(ip::make_address("2001:db8::1")), TrustLevel::Remote);
}

TEST(AccessTest, ConfiguredNetworksAreLocalAndLoopbackCanBeRemote) {
  const AccessPolicy office({{"k", std::nullopt}}, {*Network::parse("10.1.0.0/16")});
  EXPECT_EQ(office.peer_level(ip::make_address("10.1.200.3")), TrustLevel::Local);
  EXPECT_EQ(office.peer_level(ip::make_address("10.2.0.1")), TrustLevel::Remote);
  EXPECT_EQ(office.peer_level(ip::make_address("127.0.0.1")), TrustLevel::Remote);
}

TEST(AccessTest, NetworkParsing) {
  EXPECT_TRUE(Network::parse("192.168.0.0/24"));
  EXPECT_TRUE(Network::parse("fd00::/8"));
  EXPECT_TRUE(Network::parse("10.0.0.7"));
  EXPECT_FALSE(Network::parse("10.0.0.0/33"));
  EXPECT_FALSE(Network::parse("10.0.0.0/"));
  EXPECT_FALSE(Network::parse("example.com/8"));
  EXPECT_EQ(Network::parse("10.0.0.7")->to_string(), "10.0.0.7/32");
}

TEST(AccessTest, KeysAreCheckedBeforeLevels) {
  const auto policy = policy_with_loopback_local();
  EXPECT_EQ(policy.decide("", TrustLevel::Local, "workers", TrustLevel::Remote), Decision::BadKey);
  EXPECT_EQ(policy.decide("secret-on", TrustLevel::Local, "workers", TrustLevel::Remote),
            Decision::BadKey);
  EXPECT_EQ(policy.decide("secret-one-", TrustLevel::Local, "workers", TrustLevel::Remote),
            Decision::BadKey);
  // The console needs no key.
  EXPECT_EQ(policy.decide("", TrustLevel::Inproc, "exit", TrustLevel::Local), Decision::Allowed);
}

TEST(AccessTest, KeyRestrictedToSomeCommands) {
  const auto policy = policy_with_loopback_local();
  EXPECT_EQ(policy.decide("reader", TrustLevel::Local, "workers", TrustLevel::Remote),
            Decision::Allowed);
  EXPECT_EQ(policy.decide("reader", TrustLevel::Local, "restart", TrustLevel::Remote),
            Decision::CommandNotForKey);
  // Its rights do not lift the level rule.
  EXPECT_EQ(policy.decide("reader", TrustLevel::Remote, "health", TrustLevel::Local),
            Decision::LevelTooLow);
}

TEST(AccessTest, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abcabc", "abc"));
  EXPECT_FALSE(constant_time_equal("", "abc"));
  EXPECT_FALSE(constant_time_equal("", ""));
}

TEST(AccessTest, LevelNames) {
  EXPECT_EQ(commands::parse_trust_level("local"), TrustLevel::Local);
  EXPECT_EQ(commands::parse_trust_level("disabled"), TrustLevel::Disabled);
  EXPECT_FALSE(commands::parse_trust_level("root"));
}

}  // namespace
}  // namespace cservice::controlplane
