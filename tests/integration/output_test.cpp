// Relaying of workers' output: whole lines, with a prefix, none lost, none torn.

#include "integration_test.hpp"

#include <map>
#include <regex>

namespace cservice::testing {
namespace {

class OutputTest : public IntegrationTest {};

TEST_F(OutputTest, BurstsOfCrashingWorkersArriveCompleteAndUntorn) {
  constexpr int kLines = 10000;
  constexpr int kWorkers = 4;
  auto& service = start({"--workers", std::to_string(kWorkers), "--restart-on-failure", "false",
                         test_worker_binary(), "--", "--burst", std::to_string(kLines)});
  ASSERT_TRUE(service.wait_for_count("event workerExit", kWorkers, 20s, "every worker crashed"));
  service.signal(SIGTERM);
  ASSERT_EQ(service.wait_exit(20s), 0);

  const std::regex line_re(R"(^worker (\d+)\[(\d+)\]: burst line (\d+) of 10000$)");
  std::map<std::string, int> last_seen;  // per worker: the last line number, to check order
  int relayed = 0;
  for (const auto& line : service.lines()) {
    if (line.starts_with("cservice: ")) continue;
    std::smatch match;
    ASSERT_TRUE(std::regex_match(line, match, line_re)) << "torn or foreign line: '" << line << "'";
    int& last = last_seen[match[1].str()];
    ASSERT_EQ(std::stoi(match[3].str()), last + 1) << "line lost or out of order: " << line;
    last = std::stoi(match[3].str());
    ++relayed;
  }
  EXPECT_EQ(relayed, kLines * kWorkers);
  for (const auto& [worker, last] : last_seen) EXPECT_EQ(last, kLines) << "worker " << worker;
}

TEST_F(OutputTest, StderrIsRelayedWithTheWorkerPrefix) {
  auto& service = start({"--workers", "1", "--restart-on-failure", "false", test_worker_binary(),
                         "--", "--crash-after", "0"});
  ASSERT_TRUE(service.wait_for(R"(^worker 1\[\d+\]: test_worker: crashing as asked$)", 10s,
                               "the worker's stderr line"));
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(OutputTest, SilentRelaysNothing) {
  auto& service = start({"--workers", "1", "--silent", "--restart-on-failure", "false",
                         test_worker_binary(), "--", "--burst", "100"});
  ASSERT_TRUE(service.wait_for("event workerExit", 10s, "the worker's exit"));
  service.signal(SIGTERM);
  ASSERT_EQ(service.wait_exit(10s), 0);
  EXPECT_EQ(service.count("burst line"), 0u);
}

}  // namespace
}  // namespace cservice::testing
