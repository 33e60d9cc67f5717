// The headline promise, measured: while a load generator keeps requests flowing to the shared
// port, `restart all` and then `upgrade all <new build>` run, and no request fails; after the
// upgrade every answer comes from the new build. A failing upgrade is cancelled with the old
// workers serving. Both with a new connection per request and with keep-alive at full speed.

#include "hello_fleet_test.hpp"
#include "load_generator.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>

namespace cservice::testing {
namespace {

using nlohmann::json;
using Mode = LoadGenerator::Mode;

class ZeroDowntimeTest : public HelloFleetTest, public ::testing::WithParamInterface<Mode> {};

TEST_P(ZeroDowntimeTest, RestartAndUpgradeUnderLoadLoseNoRequest) {
  auto& service = start_service();
  LoadGenerator load(GetParam(), "127.0.0.1", data_port_, 4);

  const auto restarted = command("restart all");
  ASSERT_TRUE(restarted);
  ASSERT_EQ(restarted->status, 200) << restarted->body;
  EXPECT_EQ(json::parse(restarted->body)["replaced"].size(), 4u);

  const auto upgraded = command("upgrade all " + new_build() + R"( {"args": ["--body", "v2"]})");
  ASSERT_TRUE(upgraded);
  ASSERT_EQ(upgraded->status, 200) << upgraded->body;
  const auto upgrade_done = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(300ms);  // keep the load on the upgraded service a little
  load.stop();

  std::size_t after = 0;
  for (const auto& sample : load.samples()) {
    EXPECT_TRUE(sample.ok) << sample.body;
    if (sample.sent > upgrade_done) {
      ++after;
      EXPECT_TRUE(sample.body.starts_with("v2 from pid ")) << "after the upgrade: " << sample.body;
    }
  }
  EXPECT_EQ(load.failures(), 0u);
  EXPECT_GT(load.successes(), 100u);
  EXPECT_GT(after, 0u);
  std::printf("requests: %zu ok, %zu failed\n", load.successes(), load.failures());
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(20s), 0);
}

TEST_P(ZeroDowntimeTest, FailingUpgradeIsCancelledAndOldWorkersKeepServing) {
  auto& service = start_service();
  LoadGenerator load(GetParam(), "127.0.0.1", data_port_, 4);
  const auto before = json::parse(command("workers")->body)["workers"];

  const auto upgraded = command("upgrade all " + test_worker_binary() +
                                R"( {"args": ["--crash-after", "0"]})");
  ASSERT_TRUE(upgraded);
  EXPECT_EQ(upgraded->status, 500);
  EXPECT_NE(upgraded->body.find("cancelled"), std::string::npos) << upgraded->body;
  std::this_thread::sleep_for(200ms);
  load.stop();

  const auto after = json::parse(command("workers")->body)["workers"];
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(after[i]["pid"], before[i]["pid"]);
  EXPECT_EQ(load.failures(), 0u);
  for (const auto& sample : load.samples()) {
    EXPECT_TRUE(sample.ok && sample.body.starts_with("v1 from pid ")) << sample.body;
  }
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(20s), 0);
}

INSTANTIATE_TEST_SUITE_P(Load, ZeroDowntimeTest,
                         ::testing::Values(Mode::NewConnection, Mode::KeepAlive),
                         [](const auto& param_info) { return LoadGenerator::name_of(param_info.param); });

}  // namespace
}  // namespace cservice::testing
