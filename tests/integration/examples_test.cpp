// The script examples behave as their comments say.

#include "integration_test.hpp"

#include <csignal>

namespace cservice::testing {
namespace {

class ExamplesTest : public IntegrationTest {};

TEST_F(ExamplesTest, CrashingWorkerEndsInACrashLoop) {
  auto& service = start({"--workers", "1", "--restarts-per-minute", "2", "--restart-delay-ms", "10",
                         examples_dir() + "/crashing_worker.sh"},
                        {{"CRASH_AFTER_SECONDS", "0"}});
  ASSERT_TRUE(service.wait_for("CRASH LOOP: worker 1 failed after 2 restarts", 10s,
                               "the crash-loop report"));
  EXPECT_EQ(service.count(R"(^worker 1\[\d+\]: crashing worker 1: something went wrong$)"), 3u);
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(ExamplesTest, SlowStartWorkerBecomesReadyWhenWarm) {
  auto& service = start({"--workers", "2", "--ready", "notify",
                         examples_dir() + "/slow_start_worker.py", "--", "0.3"});
  ASSERT_TRUE(service.wait_for_count(R"(ready \(READY=1\))", 2, 10s, "both slow workers ready"));
  EXPECT_TRUE(service.wait_for_count(R"(: slow worker \d+ ready after 0.3 s$)", 2, 5s,
                                     "both workers' own ready lines"));
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

}  // namespace
}  // namespace cservice::testing
