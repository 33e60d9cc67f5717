// The operating commands over the real REST API: restart, shutdown, start, exit, and the
// one-rollout-at-a-time rule.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <future>

namespace cservice::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey = "commands-key";

class CommandsTest : public IntegrationTest {
 protected:
  ServiceProcess& start_service(std::vector<std::string> extra, std::vector<std::string> worker_args,
                                int workers = 2) {
    std::vector<std::string> args = {"--workers", std::to_string(workers), "--ready", "notify",
                                     "--access-key", kKey, "--host", "127.0.0.1", "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(test_worker_binary());
    args.push_back("--");
    args.insert(args.end(), worker_args.begin(), worker_args.end());
    auto& service = start(args);
    port_ = service.api_port();
    EXPECT_TRUE(service.wait_for_count("starting -> ready", static_cast<std::size_t>(workers), 10s,
                                       "the workers ready"));
    return service;
  }
  HttpAnswer command(const std::string& line) { return run_command(port_, kKey, line); }
  json workers(const std::string& mode = "") {
    return json::parse(command("workers" + (mode.empty() ? "" : " " + mode)).body)["workers"];
  }

  int port_ = -1;
};

TEST_F(CommandsTest, RestartOneWorkerByPid) {
  auto& service = start_service({}, {"--ready-after", "0"});
  const int old_pid = workers()[1]["pid"];
  const auto answer = command("restart " + std::to_string(old_pid));
  ASSERT_EQ(answer.status, 200) << answer.body;
  const json replaced = json::parse(answer.body)["replaced"];
  ASSERT_EQ(replaced.size(), 1u);
  EXPECT_EQ(replaced[0]["oldPid"], old_pid);
  EXPECT_TRUE(is_dead(old_pid));
  const json now = workers();
  EXPECT_EQ(now[1]["pid"], replaced[0]["newPid"]);
  EXPECT_EQ(now[1]["state"], "ready");
  EXPECT_EQ(command("restart 999999").status, 404);
  EXPECT_EQ(command("restart everything").status, 400);
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(CommandsTest, ShutdownOneWorkerThenStartItAgainAndAddOne) {
  auto& service = start_service({}, {"--ready-after", "0"});
  const int pid = workers()[0]["pid"];
  const auto stopped = command("shutdown " + std::to_string(pid) + R"( {"timeout": 2000})");
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_TRUE(is_dead(pid));
  EXPECT_EQ(workers()[0]["state"], "exited");
  EXPECT_EQ(json::parse(command("health").body)["health"], "degraded");

  const auto resumed = command("start");
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_EQ(json::parse(resumed.body)["started"].size(), 1u);
  const auto added = command(R"(start {"count": 1})");
  ASSERT_EQ(added.status, 200) << added.body;
  ASSERT_TRUE(service.wait_for_count("starting -> ready", 4, 10s, "the resumed and added workers ready"));
  EXPECT_EQ(workers().size(), 3u);
  EXPECT_EQ(json::parse(command("health").body)["health"], "ok");
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(CommandsTest, SecondRolloutIsBusy) {
  // Replacements take a second to become ready, so the first restart is still running.
  auto& service = start_service({}, {"--ready-after", "1000"});
  auto first = std::async(std::launch::async, [this] { return command("restart all"); });
  ASSERT_TRUE(service.wait_for("restart all: replacing 2 worker", 10s, "the first restart begun"));
  const auto second = command("upgrade all " + test_worker_binary());
  EXPECT_EQ(second.status, 400);
  EXPECT_EQ(second.body, "busy: 'restart all' is running");
  EXPECT_EQ(first.get().status, 200);
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(CommandsTest, ExitNowIsRefusedToARemotePeerAndChangesNothing) {
  auto& service = start_service({"--local-network", "none"}, {"--ready-after", "0"});
  const auto before = workers("simple");
  const auto refused = command("exit now");
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(workers("simple"), before);
  EXPECT_FALSE(service.has_exited());
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

// A key that reaches a remote peer must not run programs of its choosing on this machine:
// start PROGRAM and upgrade are local unless the control option raises them on purpose. Every
// command a key holder runs is a commandRun event naming the caller, level and key number.
TEST_F(CommandsTest, ProgramsOfTheCallersChoosingNeedALocalPeer) {
  const std::string marker = temp_dir() + "/ran";
  const std::string payload = R"({"args": ["-c", "touch )" + marker + R"("]})";
  auto& service = start_service({"--local-network", "none"}, {"--ready-after", "0"});
  const auto before = workers("simple");
  for (const std::string& line : {"upgrade all /bin/sh " + payload, "start /bin/sh " + payload}) {
    const auto refused = command(line);
    EXPECT_EQ(refused.status, 401) << line;
    EXPECT_EQ(refused.body,
              "'" + line.substr(0, line.find(' ')) + "' needs local access; this caller is remote");
  }
  EXPECT_EQ(workers("simple"), before);
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_EQ(command("restart all").status, 200);  // the service's own program: remote may
  ASSERT_TRUE(service.wait_for(
      R"re(event commandRun \{"caller":"127\.0\.0\.1","command":"upgrade","error":"'upgrade' needs local access; this caller is remote","key":1,"level":"remote","status":401\}$)re",
      5s, "the refused upgrade's audit event"));
  ASSERT_TRUE(service.wait_for(
      R"re(event commandRun \{"caller":"127\.0\.0\.1","command":"restart","key":1,"level":"remote","status":200\}$)re",
      10s, "the restart's audit event"));
  EXPECT_EQ(service.output().find(kKey), std::string::npos) << "the key was logged";
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(CommandsTest, TheControlOptionRaisesUpgradeToRemote) {
  const std::string config = write_file(
      "service.json",
      json({{"program", test_worker_binary()},
            {"args", {"--ready-after", "0"}},
            {"workerCount", 1},
            {"ready", "notify"},
            {"port", 0},
            {"accessKey", kKey},
            {"localNetworks", json::array()},
            {"control", {{"upgrade", "remote"}}}})
          .dump(),
      false);
  auto& service = start({config});
  port_ = service.api_port();
  ASSERT_TRUE(service.wait_for("starting -> ready", 10s, "the worker ready"));
  const auto answer = command("upgrade all " + test_worker_binary() + R"( {"args": ["--ready-after", "0"]})");
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(command("start").status, 401) << "start stays local";
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(CommandsTest, ExitNowFromALocalPeerKillsEverythingAndExits) {
  auto& service = start_service({}, {"--ready-after", "0", "--ignore-sigterm"});
  const auto pids = service.started_pids();
  EXPECT_EQ(command("exit").status, 400);
  const auto answer = command("exit now");
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(service.wait_exit(5s), 0);
  for (const pid_t pid : pids) EXPECT_TRUE(is_dead(pid));
}

TEST_F(CommandsTest, ShutdownAllStopsGracefullyAndExits) {
  auto& service = start_service({}, {"--ready-after", "0"});
  const auto answer = command("shutdown all");
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(service.wait_exit(10s), 0);
  EXPECT_EQ(service.count(R"("reason":"shutdown","status":"exit 0")"), 2u);
}

}  // namespace
}  // namespace cservice::testing
