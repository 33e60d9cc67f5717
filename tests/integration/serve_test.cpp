// The supervisor core against the real binary: workers, restarts, crash loops, stopping.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <csignal>
#include <future>
#include <set>

namespace cservice::testing {
namespace {

class ServeTest : public IntegrationTest {};

constexpr auto kReadyLine = R"(worker \d+ pid \d+: starting -> ready)";

TEST_F(ServeTest, AllWorkersBecomeReadyAndStopOnSigterm) {
  auto& service = start({"--workers", "3", "--ready", "notify", test_worker_binary(), "--",
                         "--ready-after", "20"});
  ASSERT_TRUE(service.wait_for_count(kReadyLine, 3, 10s, "3 workers ready"));
  const auto pids = service.started_pids();
  ASSERT_EQ(pids.size(), 3u);
  for (const pid_t pid : pids) EXPECT_FALSE(is_dead(pid));

  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
  for (const pid_t pid : pids) EXPECT_TRUE(is_dead(pid)) << "worker " << pid << " survived";
  EXPECT_EQ(service.count(R"(event workerExit .*"reason":"shutdown")"), 3u);
}

TEST_F(ServeTest, SharedPortIsAnsweredBySeveralWorkers) {
  auto& service = start({"--workers", "4", "--listen", "127.0.0.1:0", hello_worker_binary()});
  const int port = service.listen_port();
  ASSERT_GT(port, 0);
  ASSERT_TRUE(service.wait_for_count(kReadyLine, 4, 10s, "4 hello workers ready"));

  // Concurrent clients, so that more than one worker is busy accepting.
  std::set<std::string> bodies;
  for (int round = 0; round < 10 && bodies.size() < 2; ++round) {
    std::vector<std::future<std::optional<HttpAnswer>>> answers;
    for (int i = 0; i < 16; ++i) {
      answers.push_back(std::async(std::launch::async, [port] { return http_get("127.0.0.1", port); }));
    }
    for (auto& answer : answers) {
      const auto got = answer.get();
      ASSERT_TRUE(got) << "a request to the shared port failed";
      EXPECT_EQ(got->status, 200);
      bodies.insert(got->body);
    }
  }
  EXPECT_GE(bodies.size(), 2u) << "every answer came from one pid";
  for (const auto& body : bodies) EXPECT_TRUE(body.starts_with("hello from pid ")) << body;

  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(ServeTest, KilledWorkerIsReplacedAfterRestartDelay) {
  auto& service = start({"--workers", "2", "--restart-delay-ms", "200", "--ready", "notify",
                         test_worker_binary(), "--", "--ready-after", "0"});
  ASSERT_TRUE(service.wait_for_count(kReadyLine, 2, 10s, "2 workers ready"));
  const pid_t victim = service.started_pids().at(0);

  const auto killed_at = Clock::now();
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_TRUE(service.wait_for(R"(event workerExit \{"pid":)" + std::to_string(victim) +
                                   R"(,"reason":"failure","status":"killed by SIGKILL")",
                               5s, "the exit event of the killed worker"));
  // Bound: restartDelayMs plus a margin generous enough for a loaded sanitizer build.
  const auto restarted = service.wait_for(R"(event workerStart \{"pid":(\d+),"reason":"restart")",
                                          1200ms, "a replacement within restartDelayMs + margin");
  ASSERT_TRUE(restarted);
  EXPECT_GE(Clock::now() - killed_at, 200ms) << "restarted before restartDelayMs";
  const pid_t replacement = std::stoi((*restarted)[1]);
  EXPECT_NE(replacement, victim);
  EXPECT_FALSE(is_dead(replacement));

  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(ServeTest, CrashLoopIsCappedAndMasterStaysAlive) {
  auto& service = start({"--workers", "1", "--restarts-per-minute", "3", "--restart-delay-ms",
                         "10", test_worker_binary(), "--", "--crash-after", "0"});
  ASSERT_TRUE(service.wait_for("CRASH LOOP: worker 1 failed after 3 restarts", 10s,
                               "the crash-loop report"));
  // Nothing announces "no more restarts happened"; give a would-be fourth restart ample time.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(service.count("event workerStart"), 4u) << "1 start + restartsPerMinute restarts";
  EXPECT_FALSE(service.has_exited());
  EXPECT_FALSE(is_dead(service.pid()));

  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(ServeTest, WorkerIgnoringStopSignalIsKilledAfterStopTimeout) {
  auto& service = start({"--workers", "1", "--stop-timeout-ms", "300", "--ready", "notify",
                         test_worker_binary(), "--", "--ready-after", "0", "--ignore-sigterm"});
  ASSERT_TRUE(service.wait_for(kReadyLine, 10s, "the worker ready"));
  service.signal(SIGTERM);
  ASSERT_TRUE(service.wait_for("ignoring SIGTERM", 5s, "the worker ignoring SIGTERM"));
  ASSERT_TRUE(service.wait_for("still running 300 ms after the stop signal; sending SIGKILL", 5s,
                               "the SIGKILL after stopTimeoutMs"));
  EXPECT_EQ(service.wait_exit(10s), 1) << "a worker killed at the stop timeout: not a clean stop";
  EXPECT_EQ(service.count(R"("reason":"shutdown","status":"killed by SIGKILL")"), 1u);
}

TEST_F(ServeTest, SecondSigintKillsAtOnce) {
  auto& service = start({"--workers", "2", "--stop-timeout-ms", "60000", "--ready", "notify",
                         test_worker_binary(), "--", "--ready-after", "0", "--ignore-sigterm"});
  ASSERT_TRUE(service.wait_for_count(kReadyLine, 2, 10s, "2 workers ready"));
  service.signal(SIGINT);
  ASSERT_TRUE(service.wait_for_count("ignoring SIGTERM", 2, 5s, "both workers ignoring SIGTERM"));
  service.signal(SIGINT);
  EXPECT_EQ(service.wait_exit(5s), 0) << "the forced stop did not end the master";
  EXPECT_EQ(service.count("second SIGINT: killing all workers now"), 1u);
}

TEST_F(ServeTest, SigkilledMasterLeavesNoWorkerAlive) {
  auto& service = start({"--workers", "3", "--listen", "127.0.0.1:0", hello_worker_binary()});
  ASSERT_TRUE(service.wait_for_count(kReadyLine, 3, 10s, "3 workers ready"));
  const auto pids = service.started_pids();
  service.signal(SIGKILL);
  ASSERT_EQ(service.wait_exit(5s), 128 + SIGKILL);
  // The workers are reparented to this test process (a subreaper) and reaped by it.
  const bool all_dead = wait_until(
      [&] {
        reap_children(0ms);
        for (const pid_t pid : pids) {
          if (!is_dead(pid)) return false;
        }
        return true;
      },
      1s);
  EXPECT_TRUE(all_dead) << "a worker outlived its SIGKILLed master by 1 s";
}

TEST_F(ServeTest, MissedReadyTimeoutStopsAndReplacesWorker) {
  auto& service = start({"--workers", "1", "--ready", "notify", "--ready-timeout-ms", "200",
                         "--restart-delay-ms", "10", test_worker_binary(), "--", "--never-ready"});
  ASSERT_TRUE(service.wait_for("not ready after 200 ms \\(readyTimeoutMs\\); stopping it", 5s,
                               "the ready-timeout report"));
  ASSERT_TRUE(service.wait_for(R"(event workerExit .*"reason":"failure")", 5s,
                               "the timed-out worker's exit counted as a failure"));
  ASSERT_TRUE(service.wait_for(R"(event workerStart .*"reason":"restart")", 5s, "a replacement"));
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(ServeTest, AutoModeHoldsAWorkerThatSpeaksUntilReady) {
  // The worker says STATUS= at once and READY=1 only after 1 s, long after the grace period.
  auto& service = start({"--workers", "1", "--ready-grace-ms", "200", test_worker_binary(), "--",
                         "--status", "warming up", "--ready-after", "1000"});
  ASSERT_TRUE(service.wait_for(kReadyLine, 10s, "the slow worker ready"));
  EXPECT_EQ(service.count(R"(ready \(READY=1\))"), 1u);
  EXPECT_EQ(service.count("ready \\(up for readyGraceMs"), 0u) << "the grace period made it ready";
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(ServeTest, AutoModeSilentWorkerIsReadyAfterGrace) {
  auto& service = start({"--workers", "1", "--ready-grace-ms", "100", test_worker_binary()});
  ASSERT_TRUE(service.wait_for("ready \\(up for readyGraceMs without a notify message\\)", 10s,
                               "the silent worker ready after the grace period"));
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(ServeTest, PythonWorkerServesOnTheInheritedSocket) {
  auto& service = start({"--workers", "2", "--ready", "notify", "--listen", "web=127.0.0.1:0",
                         examples_dir() + "/notify_worker.py"});
  const int port = service.listen_port();
  ASSERT_TRUE(service.wait_for_count(kReadyLine, 2, 10s, "2 python workers ready"));
  const auto answer = http_get("127.0.0.1", port);
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->body.starts_with("hello from python pid ")) << answer->body;
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(ServeTest, StrayChildOfDeadWorkerIsKilled) {
  auto& service = start({"--workers", "1", "--restart-on-failure", "false",
                         test_worker_binary(), "--", "--stray-child", "--crash-after", "100"});
  ASSERT_TRUE(service.wait_for(R"(event workerExit .*"reason":"failure")", 5s, "the worker exit"));
  // The sleep it left in its process group was SIGKILLed with it and reaped by the master
  // (as an adopted descendant if the master saw it before it died).
  EXPECT_TRUE(service.wait_for(
      R"((reaped orphan pid \d+|escaped descendant pid \d+: exited) \(killed by SIGKILL\))", 5s,
      "the leftover child reaped"));
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(ServeTest, ConfigFileServes) {
  const std::string config = write_file(
      "service.json",
      R"({"program": ")" + test_worker_binary() +
          R"(", "args": ["--ready-after", "0"], "workerCount": 2, "ready": "notify"})",
      false);
  auto& service = start({config});
  ASSERT_TRUE(service.wait_for_count(kReadyLine, 2, 10s, "2 workers from service.json"));
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

}  // namespace
}  // namespace cservice::testing
