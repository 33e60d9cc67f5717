#include "metrics/metrics_collector.hpp"

#include <fmt/format.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>

namespace cservice::metrics {
namespace {

using namespace std::chrono_literals;
using supervisor::Event;
using supervisor::WorkerInfo;
using supervisor::WorkerState;
using ::testing::HasSubstr;
using ::testing::Not;

class MetricsCollectorTest : public ::testing::Test {
 protected:
  std::string scrape(std::vector<WorkerInfo> workers = {}) {
    return collector_.render({std::move(workers), [](Pid pid) {
                                return std::optional<commands::ProcessStats>(
                                    {static_cast<std::uint64_t>(to_int(pid)) * 1000, 1.5});
                              }});
  }
  void operation(std::uint64_t id, const char* kind, const char* state) {
    events_.publish({"operation", {{"operation", id}, {"kind", kind}, {"state", state}}});
  }

  FakeClock clock_;
  supervisor::EventBus events_;
  MetricsCollector collector_{clock_, events_, {"1.2.3", "main", Pid{42}, {}}};
};

TEST_F(MetricsCollectorTest, BuildInfoUptimeAndMasterProcess) {
  clock_.advance(90s);
  const std::string text = scrape();
  EXPECT_THAT(text, HasSubstr("# TYPE cservice_build_info gauge\n"
                              "cservice_build_info{version=\"1.2.3\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\ncservice_uptime_seconds 90\n"));
  EXPECT_THAT(text, HasSubstr("\ncservice_master_resident_memory_bytes 42000\n"));
  EXPECT_THAT(text, HasSubstr("\ncservice_master_cpu_seconds_total 1.5\n"));
}

TEST_F(MetricsCollectorTest, CountsExitsByReasonButNotShutdowns) {
  events_.publish({"workerExit", {{"worker", 1}, {"reason", "failure"}}});
  events_.publish({"workerExit", {{"worker", 2}, {"reason", "failure"}}});
  events_.publish({"workerExit", {{"worker", 1}, {"reason", "shutdown"}}});
  events_.publish({"workerExit", {{"worker", 1}, {"reason", "upgrade"}}});
  const std::string text = scrape();
  EXPECT_THAT(text,
              HasSubstr("cservice_worker_restarts_total{group=\"main\",reason=\"failure\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("cservice_worker_restarts_total{group=\"main\",reason=\"upgrade\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("cservice_worker_restarts_total{group=\"main\",reason=\"restart\"} 0\n"))
      << "every reason's series exists from the start";
  EXPECT_THAT(text, Not(HasSubstr("reason=\"shutdown\"")));
}

TEST_F(MetricsCollectorTest, TimeToReadyIsAHistogramInSeconds) {
  events_.publish({"workerReady", {{"worker", 1}, {"readyMs", 40}}});
  events_.publish({"workerReady", {{"worker", 2}, {"readyMs", 2000}}});
  const std::string text = scrape();
  EXPECT_THAT(text, HasSubstr("# TYPE cservice_worker_ready_seconds histogram\n"));
  EXPECT_THAT(text,
              HasSubstr("cservice_worker_ready_seconds_bucket{group=\"main\",le=\"0.025\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("cservice_worker_ready_seconds_bucket{group=\"main\",le=\"0.05\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("cservice_worker_ready_seconds_bucket{group=\"main\",le=\"2.5\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("cservice_worker_ready_seconds_bucket{group=\"main\",le=\"+Inf\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("cservice_worker_ready_seconds_sum{group=\"main\"} 2.04\n"));
  EXPECT_THAT(text, HasSubstr("cservice_worker_ready_seconds_count{group=\"main\"} 2\n"));
}

TEST_F(MetricsCollectorTest, RolloutsCountTheirOutcomeAndDurationFromTheClock) {
  operation(1, "restart", "running");
  clock_.advance(3s);
  operation(1, "restart", "running");  // progress: not a new start
  clock_.advance(4s);
  operation(1, "restart", "succeeded");
  operation(2, "upgrade", "running");
  operation(2, "upgrade", "cancelled");
  operation(3, "start", "running");  // not a rollout
  operation(3, "start", "succeeded");
  const std::string text = scrape();
  EXPECT_THAT(text,
              HasSubstr("cservice_rollouts_total{kind=\"restart\",outcome=\"succeeded\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("cservice_rollouts_total{kind=\"upgrade\",outcome=\"cancelled\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cservice_rollouts_total{kind=\"rollback\",outcome=\"failed\"} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("kind=\"start\"")));
  EXPECT_THAT(text, HasSubstr("cservice_rollout_duration_seconds_sum{kind=\"restart\"} 7\n"));
  EXPECT_THAT(text,
              HasSubstr("cservice_rollout_duration_seconds_bucket{kind=\"restart\",le=\"5\"} 0\n"));
  EXPECT_THAT(
      text, HasSubstr("cservice_rollout_duration_seconds_bucket{kind=\"restart\",le=\"10\"} 1\n"));
}

TEST_F(MetricsCollectorTest, ControlRequestsByCommandAndStatusWithUnknownNamesFolded) {
  events_.publish({"commandRun", {{"command", "workers"}, {"status", 200}}});
  events_.publish({"commandRun", {{"command", "workers"}, {"status", 200}}});
  events_.publish({"commandRun", {{"command", "restart"}, {"status", 401}}});
  events_.publish({"commandRun", {{"command", "made-up\"name"}, {"status", 404}}});
  const std::string text = scrape();
  EXPECT_THAT(text,
              HasSubstr("cservice_control_requests_total{command=\"workers\",status=\"200\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("cservice_control_requests_total{command=\"restart\",status=\"401\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("cservice_control_requests_total{command=\"unknown\",status=\"404\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("made-up")));
}

TEST_F(MetricsCollectorTest, DistinctCommandLabelsAreCapped) {
  for (std::size_t i = 0; i < MetricsCollector::kMaxCommands + 5; ++i) {
    events_.publish({"commandRun", {{"command", fmt::format("c{}", i)}, {"status", 200}}});
  }
  const std::string text = scrape();
  EXPECT_THAT(text,
              HasSubstr("cservice_control_requests_total{command=\"other\",status=\"200\"} 5\n"));
}

TEST_F(MetricsCollectorTest, CrashLoopsAndMalformedEventsAreHarmless) {
  events_.publish({"crashLoop", {{"worker", 1}}});
  events_.publish({"workerReady", {{"readyMs", "soon"}}});
  events_.publish({"operation", nlohmann::json::array({1, 2})});
  events_.publish({"commandRun", {{"command", 7}, {"status", "x"}}});
  const std::string text = scrape();
  EXPECT_THAT(text, HasSubstr("cservice_crash_loops_total{group=\"main\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cservice_worker_ready_seconds_count{group=\"main\"} 0\n"));
}

TEST_F(MetricsCollectorTest, WorkersByStateAndPerProcessMemoryAndCpu) {
  const auto worker = [](std::uint32_t id, std::optional<Pid> pid, WorkerState state) {
    WorkerInfo w;
    w.id = WorkerId{id};
    w.pid = pid;
    w.state = state;
    return w;
  };
  const WorkerInfo ready = worker(1, Pid{100}, WorkerState::Ready);
  WorkerInfo replaced = worker(2, Pid{200}, WorkerState::Ready);
  replaced.incoming = WorkerInfo::Incoming{Pid{300}, WorkerState::Starting, nullptr};
  WorkerInfo empty = worker(3, std::nullopt, WorkerState::Exited);
  empty.crash_loop = true;
  const std::string text = scrape({ready, replaced, empty});
  EXPECT_THAT(text, HasSubstr("cservice_workers{group=\"main\",state=\"ready\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("cservice_workers{group=\"main\",state=\"starting\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cservice_workers{group=\"main\",state=\"stopping\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("cservice_workers{group=\"main\",state=\"exited\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cservice_worker_slots{group=\"main\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("cservice_workers_crash_looping{group=\"main\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cservice_worker_resident_memory_bytes{group=\"main\",worker=\"2\","
                              "pid=\"300\"} 300000\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "cservice_worker_cpu_seconds_total{group=\"main\",worker=\"1\",pid=\"100\"} 1.5\n"));
}

TEST(MetricsCollectorOutputTest, EscapesLabelValues) {
  FakeClock clock;
  supervisor::EventBus events;
  const MetricsCollector collector{clock, events, {"1.0\"b\\c\nd", "main", Pid{42}, {}}};
  EXPECT_THAT(collector.render({}),
              HasSubstr("cservice_build_info{version=\"1.0\\\"b\\\\c\\nd\"} 1\n"));
}

TEST_F(MetricsCollectorTest, HistogramBucketsAreCumulativeAndIncludeTheirBound) {
  events_.publish({"workerReady", {{"worker", 1}, {"readyMs", 25}}});     // exactly on a bound
  events_.publish({"workerReady", {{"worker", 2}, {"readyMs", 90000}}});  // above the last
  const std::string text = scrape();
  EXPECT_THAT(text,
              HasSubstr("cservice_worker_ready_seconds_bucket{group=\"main\",le=\"0.01\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("cservice_worker_ready_seconds_bucket{group=\"main\",le=\"0.025\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("cservice_worker_ready_seconds_bucket{group=\"main\",le=\"60\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("cservice_worker_ready_seconds_bucket{group=\"main\",le=\"+Inf\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("cservice_worker_ready_seconds_count{group=\"main\"} 2\n"));
}

TEST_F(MetricsCollectorTest, EveryFamilyHasOneHelpAndTypeAndOnlyItsOwnSamples) {
  events_.publish({"commandRun", {{"command", "workers"}, {"status", 200}}});
  const std::string text = scrape();
  std::map<std::string, int> headers;  // family -> # HELP and # TYPE lines seen
  std::string family;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      family = line.substr(7, line.find(' ', 7) - 7);
      ++headers[family];
      continue;
    }
    ASSERT_FALSE(family.empty()) << "a sample before any family: " << line;
    EXPECT_TRUE(line.starts_with(family)) << "sample outside its family " << family << ": " << line;
  }
  EXPECT_EQ(headers.size(), 16u);
  for (const auto& [name, count] : headers) EXPECT_EQ(count, 2) << name;
}

}  // namespace
}  // namespace cservice::metrics
