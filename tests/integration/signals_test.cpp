// The master's signals (nginx and gunicorn conventions): SIGHUP is a zero-downtime `restart
// all`, SIGTTIN/SIGTTOU one worker more/fewer, SIGQUIT a graceful stop, and every other signal
// that would end the master by default is logged and ignored.

#include "hello_fleet_test.hpp"
#include "load_generator.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <cstring>
#include <string>

namespace cservice::testing {
namespace {

// The name the master logs for `signal`: "SIGUSR2", or "SIGRTMIN+2" for a real-time one.
std::string logged_name(int signal) {
  if (signal > SIGRTMIN && signal <= SIGRTMAX) return "SIGRTMIN\\+" + std::to_string(signal - SIGRTMIN);
  return std::string("SIG") + ::sigabbrev_np(signal);
}

class SignalsTest : public HelloFleetTest {
 protected:
  // The number of workers `workers simple` lists (one "pid" each).
  static std::size_t worker_count(int api_port, const std::string& key) {
    const std::string body = run_command(api_port, key, "workers simple").body;
    std::size_t n = 0;
    for (auto at = body.find("\"pid\":"); at != std::string::npos;
         at = body.find("\"pid\":", at + 1)) {
      ++n;
    }
    return n;
  }
};

TEST_F(SignalsTest, SighupRestartsEveryWorkerUnderLoadWithoutAFailedRequest) {
  auto& service = start_service();
  const auto before = service.started_pids();
  ASSERT_EQ(before.size(), 4u);
  LoadGenerator load(LoadGenerator::Mode::KeepAlive, "127.0.0.1", data_port_, 4);
  ASSERT_TRUE(wait_until([&] { return load.successes() > 50; }, 10s)) << "no load got through";
  service.signal(SIGHUP);
  ASSERT_TRUE(service.wait_for("SIGHUP: every worker restarted", 60s, "the restart's end"));
  ASSERT_TRUE(wait_until([&] { return load.successes() > 100; }, 10s));
  load.stop();
  EXPECT_EQ(load.failures(), 0u) << "requests failed during the SIGHUP restart";
  // Four new workers, and the operation is recorded as any `restart all` is.
  EXPECT_EQ(service.started_pids().size(), 8u);
  const auto operations = command("operations");
  ASSERT_TRUE(operations);
  EXPECT_NE(operations->body.find("restart all"), std::string::npos) << operations->body;
  EXPECT_NE(operations->body.find("succeeded"), std::string::npos) << operations->body;
  EXPECT_EQ(service.count(R"("caller":"signal SIGHUP","command":"restart")"), 1u)
      << "the command's audit names the signal as its caller";
  stop_gracefully(service, kKey);
}

TEST_F(SignalsTest, ASecondSighupDuringARestartIsRefusedAsBusy) {
  auto& service = start({"--workers", "2", "--ready", "notify", "--silent", test_worker_binary(),
                         "--", "--ready-after", "1500"});
  ASSERT_TRUE(service.wait_for_count("starting -> ready", 2, 15s, "2 workers ready"));
  service.signal(SIGHUP);
  ASSERT_TRUE(service.wait_for("restart all: replacing 2 worker", 10s, "the first restart"));
  service.signal(SIGHUP);
  EXPECT_TRUE(service.wait_for("SIGHUP: restart all: busy", 10s, "the second one refused"));
  EXPECT_TRUE(service.wait_for("SIGHUP: every worker restarted", 30s, "the first one's end"));
  stop_gracefully(service);
}

TEST_F(SignalsTest, TtinAddsAWorkerAndTtouRemovesOneButNeverTheLast) {
  auto& service = start({"--workers", "2", "--access-key", kKey, "--host", "127.0.0.1",
                         "--port", "0", "--silent", test_worker_binary()});
  const int api = service.api_port(30s);
  ASSERT_TRUE(service.wait_for_count("starting -> ready", 2, 15s, "2 workers ready"));
  service.signal(SIGTTIN);
  ASSERT_TRUE(service.wait_for("SIGTTIN: one worker more: 3 worker\\(s\\) now", 10s, "3 workers"));
  ASSERT_TRUE(service.wait_for_count("starting -> ready", 3, 15s, "the third worker ready"));
  EXPECT_EQ(worker_count(api, kKey), 3u);
  EXPECT_NE(run_command(api, kKey, "health").body.find("\"ok\""), std::string::npos);

  service.signal(SIGTTOU);
  ASSERT_TRUE(service.wait_for("SIGTTOU: one worker fewer: 2 worker\\(s\\) now", 10s, "2"));
  ASSERT_TRUE(service.wait_for("exited", 10s, "the removed worker's exit"));
  EXPECT_TRUE(wait_until([&] { return worker_count(api, kKey) == 2; }, 10s));
  service.signal(SIGTTOU);
  ASSERT_TRUE(service.wait_for("SIGTTOU: one worker fewer: 1 worker\\(s\\) now", 10s, "1"));
  service.signal(SIGTTOU);
  EXPECT_TRUE(service.wait_for("SIGTTOU: the service keeps at least one worker", 10s,
                               "the last worker kept"));
  EXPECT_TRUE(wait_until([&] { return worker_count(api, kKey) == 1; }, 10s));
  const auto health = run_command(api, kKey, "health").body;
  EXPECT_NE(health.find("\"ok\""), std::string::npos) << health;
  stop_gracefully(service, kKey);
}

// While the worker SIGTTOU removed drains, the service counts the workers it keeps: /readyz
// stays 200 (a pod is not taken out of its Service for a smaller fleet) and `info` says 2.
TEST_F(SignalsTest, WhileTheRemovedWorkerDrainsTheServiceIsReadyWithTheOthers) {
  // Ready on READY=1, which the worker sends once its SIGTERM handler is in place.
  auto& service = start({"--workers", "3", "--ready", "notify", "--access-key", kKey, "--host",
                         "127.0.0.1", "--port", "0", test_worker_binary(), "--", "--ready-after",
                         "0", "--exit-delay", "5000"});
  const int api = service.api_port(30s);
  ASSERT_TRUE(service.wait_for_count("starting -> ready", 3, 15s, "3 workers ready"));
  service.signal(SIGTTOU);
  ASSERT_TRUE(service.wait_for("SIGTTOU: one worker fewer: 2 worker\\(s\\) now", 10s, "2"));
  const auto ready = http_get("127.0.0.1", api, "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  const auto info = nlohmann::json::parse(run_command(api, kKey, "info").body);
  EXPECT_EQ(info["workerCount"], 2) << info.dump();
  EXPECT_EQ(service.count("exited"), 0u) << "the removed worker was still draining";
  stop_gracefully(service, kKey);
}

TEST_F(SignalsTest, SignalsThatWouldKillTheMasterAreLoggedAndIgnored) {
  auto& service = start_service();
  const int realtime = SIGRTMIN + 2;
  for (const int signal : {SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGXCPU, SIGXFSZ, SIGPWR,
                           SIGSTKFLT, realtime}) {
    service.signal(signal);
    const std::string name = logged_name(signal);
    EXPECT_TRUE(service.wait_for(name + ": ignored", 10s, name + " logged"));
  }
  service.signal(SIGUSR1);
  EXPECT_TRUE(service.wait_for("SIGUSR1", 10s, "SIGUSR1 logged"));
  // Still serving, with every worker it had.
  const auto answer = http_get("127.0.0.1", data_port_, "/");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_FALSE(service.has_exited());
  EXPECT_EQ(service.started_pids().size(), 4u) << "no worker restarted";
  stop_gracefully(service, kKey);
}

TEST_F(SignalsTest, SigquitStopsGracefullyAsSigtermDoes) {
  auto& service = start({"--workers", "2", "--silent", test_worker_binary()});
  ASSERT_TRUE(service.wait_for_count("starting -> ready", 2, 15s, "2 workers ready"));
  service.signal(SIGQUIT);
  EXPECT_TRUE(service.wait_for("SIGQUIT: stopping all workers", 10s, "the graceful stop"));
  EXPECT_EQ(service.wait_exit(10s), 0);
}

}  // namespace
}  // namespace cservice::testing
