// Prometheus metrics (GET /metrics) and the probes (GET /healthz, /readyz) of the real master:
// the scrape passes `promtool check metrics`, its counters move with what happens, the key is
// required unless metricsPublic, and the probes are answered at once, also while every
// authenticated slot is held by slow commands.

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "http_client.hpp"
#include "integration_test.hpp"

namespace cservice::testing {
namespace {

constexpr const char* kKey = "metrics-key";
const std::string kBearer = std::string("Bearer ") + kKey;

// The value of the sample `series` (its name and labels, exactly as written), or -1.
double sample(const std::string& text, const std::string& series) {
  const std::string start = series + " ";
  for (std::size_t at = text.find(start); at != std::string::npos; at = text.find(start, at + 1)) {
    if (at == 0 || text[at - 1] == '\n') {
      return std::stod(text.substr(at + start.size(), text.find('\n', at) - at - start.size()));
    }
  }
  return -1;
}

// Runs `command` through the shell; its exit status and its stdout and stderr.
std::pair<int, std::string> run_shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class MetricsTest : public IntegrationTest {
 protected:
  ServiceProcess& start_service(std::vector<std::string> extra, std::vector<std::string> worker) {
    std::vector<std::string> args = {"--access-key", kKey, "--host", "127.0.0.1", "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(test_worker_binary());
    args.push_back("--");
    args.insert(args.end(), worker.begin(), worker.end());
    auto& service = start(args);
    port_ = service.api_port();
    return service;
  }
  std::optional<HttpAnswer> get(const std::string& target, const std::string& auth = {},
                                const std::string& method = "GET") {
    return http_request(method, "127.0.0.1", port_, target, auth, 3s);
  }
  std::string scrape() {
    const auto answer = get("/metrics", kBearer);
    EXPECT_TRUE(answer && answer->status == 200) << (answer ? answer->body : "no answer");
    return answer ? answer->body : "";
  }

  int port_ = -1;
};

TEST_F(MetricsTest, ScrapePassesPromtoolAndCountsRestartsReadinessAndCommands) {
  if (run_shell("command -v promtool").first != 0) {
    GTEST_SKIP() << "promtool missing: run scripts/setup.sh (Debian package prometheus)";
  }
  auto& service = start_service({"--workers", "2"}, {"--ready-after", "0"});
  ASSERT_TRUE(service.wait_for_count("event workerReady", 2, 10s, "both workers ready"));
  ASSERT_EQ(run_command(port_, kKey, "workers").status, 200);
  ASSERT_EQ(run_command(port_, kKey, "no-such-command").status, 404);

  const std::string before = scrape();
  EXPECT_EQ(sample(before, R"(cservice_worker_restarts_total{group="main",reason="failure"})"), 0);
  EXPECT_EQ(sample(before, R"(cservice_worker_ready_seconds_count{group="main"})"), 2);
  EXPECT_EQ(sample(before, R"(cservice_workers{group="main",state="ready"})"), 2);
  EXPECT_EQ(sample(before, R"(cservice_control_requests_total{command="workers",status="200"})"),
            1);
  EXPECT_EQ(sample(before, R"(cservice_control_requests_total{command="unknown",status="404"})"),
            1);
  EXPECT_EQ(sample(before, R"(cservice_build_info{version="0.1.0"})"), 1);

  // A killed worker: a restart with reason failure, and its replacement's time to ready.
  const auto pids = service.started_pids();
  ASSERT_EQ(pids.size(), 2u);
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  ASSERT_TRUE(service.wait_for_count("event workerReady", 3, 10s, "the replacement ready"));
  const std::string after = scrape();
  EXPECT_EQ(sample(after, R"(cservice_worker_restarts_total{group="main",reason="failure"})"), 1)
      << after;
  EXPECT_EQ(sample(after, R"(cservice_worker_ready_seconds_count{group="main"})"), 3);
  const std::string replacement = std::to_string(service.started_pids().back());
  EXPECT_GT(sample(after, R"(cservice_worker_resident_memory_bytes{group="main",worker="1",pid=")" +
                              replacement + "\"}"),
            0)
      << after;
  EXPECT_GT(sample(after, "cservice_master_resident_memory_bytes"), 0);

  // The format, checked by Prometheus's own linter: no problem at all.
  const std::string file = temp_dir() + "/metrics.txt";
  std::ofstream(file) << after;
  const auto [status, lint] = run_shell("promtool check metrics < " + file);
  EXPECT_EQ(status, 0) << lint << "\n" << after;
  EXPECT_EQ(lint, "") << after;
  stop_gracefully(service, kKey);
}

TEST_F(MetricsTest, KeyRequiredUnlessMetricsPublic) {
  auto& service = start_service({"--workers", "1"}, {"--ready-after", "0"});
  const auto keyless = get("/metrics");
  ASSERT_TRUE(keyless);
  EXPECT_EQ(keyless->status, 401);
  EXPECT_EQ(keyless->body.find("cservice_"), std::string::npos);
  EXPECT_EQ(get("/metrics", "Bearer wrong-key")->status, 401);
  EXPECT_EQ(get("/metrics", kBearer)->status, 200);
  const auto by_parameter = get(std::string("/metrics?accessKey=") + kKey);
  ASSERT_TRUE(by_parameter);
  EXPECT_EQ(by_parameter->status, 200);
  EXPECT_NE(by_parameter->body.find("# TYPE cservice_workers gauge"), std::string::npos);
  stop_gracefully(service, kKey);

  auto& open = start_service({"--workers", "1", "--metrics-public"}, {"--ready-after", "0"});
  const auto public_scrape = get("/metrics");
  ASSERT_TRUE(public_scrape);
  EXPECT_EQ(public_scrape->status, 200);
  EXPECT_NE(public_scrape->body.find("cservice_uptime_seconds"), std::string::npos);
  stop_gracefully(open, kKey);
}

TEST_F(MetricsTest, ReadyzIs503UntilWorkersAreReadyAndHealthzAlways200) {
  // Notify workers that never say READY=1: alive (healthz) but not ready (readyz).
  auto& waiting = start_service(
      {"--workers", "2", "--ready", "notify", "--ready-timeout-ms", "60000"}, {"--never-ready"});
  ASSERT_TRUE(waiting.wait_for_count("event workerStart", 2, 10s, "both workers started"));
  const auto health = get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  const auto not_ready = get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body, "0/2 workers ready, need 2\n");
  EXPECT_EQ(get("/readyz", {}, "HEAD")->status, 503);
  EXPECT_EQ(get("/readyz", {}, "POST")->status, 405);
  stop_gracefully(waiting, kKey);

  auto& ready = start_service({"--workers", "2", "--ready", "notify"}, {"--ready-after", "0"});
  ASSERT_TRUE(ready.wait_for_count("event workerReady", 2, 10s, "both workers ready"));
  const auto answer = get("/readyz");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "2/2 workers ready, need 2\n");
  const auto head = get("/healthz", {}, "HEAD");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  stop_gracefully(ready, kKey);
}

TEST_F(MetricsTest, MinReadyLowersWhatReadyzNeeds) {
  auto& service =
      start_service({"--workers", "2", "--ready", "notify", "--min-ready", "0"}, {"--never-ready"});
  ASSERT_TRUE(service.wait_for_count("event workerStart", 2, 10s, "both workers started"));
  const auto answer = get("/readyz");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "0/2 workers ready, need 0\n");
  stop_gracefully(service, kKey);
}

TEST_F(MetricsTest, ProbesAndScrapesAreAnsweredWhileEverySlotIsBusy) {
  std::filesystem::create_directories(temp_dir() + "/commands");
  write_file("commands/slow", "#!/bin/sh\nexec sleep 20\n", true);
  auto& service = start_service({"--workers", "1", "--commands", temp_dir() + "/commands"},
                                {"--ready-after", "0"});
  ASSERT_TRUE(service.wait_for("event workerReady", 10s, "the worker ready"));
  // 64 slow commands hold the 64 authenticated slots (and more wait in the queue).
  constexpr int kSlow = 70;
  std::vector<std::thread> callers;
  for (int i = 0; i < kSlow; ++i) {
    callers.emplace_back([port = port_] { run_command(port, kKey, "slow", 40s); });
  }
  struct Join {
    std::vector<std::thread>& threads;
    ~Join() {
      for (auto& t : threads) t.join();
    }
  } join{callers};
  const auto running_slow = [&] {
    const auto [status, out] =
        run_shell("pgrep -c -P " + std::to_string(service.pid()) + " -x sleep");
    return status == 0 ? std::stoi(out) : 0;
  };
  ASSERT_TRUE(wait_until([&] { return running_slow() >= 64; }, 20s)) << "64 slow commands running";
  // Every slot is held: a key holder's command now waits (here past its 1 s).
  EXPECT_FALSE(http_request("POST", "127.0.0.1", port_, "/cli?cmd=version", kBearer, 1s))
      << "a slot was free";

  const auto started = Clock::now();
  const auto health = get("/healthz");
  const auto ready = get("/readyz");
  const auto metrics = get("/metrics", kBearer);
  const auto elapsed = Clock::now() - started;
  ASSERT_TRUE(health && ready && metrics);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_LT(elapsed, 3s) << "the probes waited behind the slow commands";

  // Shutting down kills the commands still running; every caller gets its answer.
  stop_gracefully(service, kKey);
}

}  // namespace
}  // namespace cservice::testing
