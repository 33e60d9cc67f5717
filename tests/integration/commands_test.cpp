// The operating commands over the real REST API: restart, shutdown, start, exit, the
// one-rollout-at-a-time rule, and the seed's positional forms.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <future>

namespace cservice::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey = "commands-key";
// A stop timeout far beyond every wait of these tests: with workers that ignore SIGTERM, a command
// that does not apply the timeout it was given cannot answer in time.
const std::vector<std::string> kLongStop = {"--stop-timeout-ms", "60000"};

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
  // curl, as the README shows it; returns its exit status and what it printed, lines joined by
  // "\n", then the HTTP status as "[200]" (right after the body: a body's own newline shows).
  std::pair<int, std::string> curl(std::vector<std::string> args) {
    std::vector<std::string> all = {"-s", "-S", "--max-time", "15", "-w", "[%{http_code}]"};
    all.insert(all.end(), args.begin(), args.end());
    ServiceProcess curl_process(Program{"/usr/bin/curl"}, all);
    const auto status = curl_process.wait_exit(20s);
    std::string out;
    for (const auto& line : curl_process.lines()) out += (out.empty() ? "" : "\n") + line;
    return {status.value_or(-1), out};
  }
  std::string url(const std::string& query) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/cli?" + query;
  }
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
  EXPECT_EQ(second.status, 409);
  EXPECT_EQ(second.body, "busy: operation 1 (restart all) is running; 'wait 1' or 'cancel 1'");
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
    EXPECT_EQ(refused.body, fmt::format("'{}' needs local access; this caller is remote",
                                        line.substr(0, line.find(' '))));
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

// The seed README's command forms as written, beside the options object: positional [cwd] and
// [timeout]; `start PROGRAM` adding a worker when every slot is busy; and the original's REST
// habits (the command line as the POST body, 404 for no command, error texts without a trailing
// newline), tried with curl as a user would.

TEST_F(CommandsTest, SeedRestartAndShutdownTakeTheTimeoutAsAPositionalArgument) {
  auto& service = start_service(kLongStop, {"--ready-after", "0", "--ignore-sigterm"});
  const auto restarted = command("restart all 300");
  ASSERT_EQ(restarted.status, 200) << restarted.body;
  EXPECT_EQ(json::parse(restarted.body)["replaced"].size(), 2u);
  const int pid = workers()[0]["pid"];
  // The object wins over the positional value.
  const auto stopped = command("shutdown " + std::to_string(pid) + R"( 60000 {"timeout": 300})");
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(json::parse(stopped.body)["stopped"]["status"], "killed by SIGKILL");
  EXPECT_TRUE(is_dead(pid));
  const auto bad = command("restart all soon");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, "restart: timeout must be milliseconds, a whole number from 0 to 604800000, got \"soon\"");
  EXPECT_EQ(command("restart all 1 2").body, "restart: unexpected argument 2 (see help restart)");
  const auto all = command("shutdown all 300");
  ASSERT_EQ(all.status, 200) << all.body;
  // Killed after 300 ms, as asked; they did not stop by themselves: exit status 1.
  EXPECT_EQ(service.wait_exit(10s), 1) << "shutdown all 300 kills the workers after 300 ms";
}

TEST_F(CommandsTest, SeedStartWithAProgramAddsAWorkerWhenEverySlotIsBusy) {
  auto& service = start_service(kLongStop, {"--ready-after", "0"});
  const std::string dir = std::filesystem::canonical(temp_dir()).string();
  const auto started = command("start " + test_worker_binary() + " " + dir + " 5000");
  ASSERT_EQ(started.status, 200) << started.body;
  const json answer = json::parse(started.body);
  ASSERT_EQ(answer["started"].size(), 1u);
  EXPECT_EQ(answer["ready"], answer["started"]) << "answered once ready";
  const json now = workers();
  ASSERT_EQ(now.size(), 3u);
  EXPECT_EQ(now[2]["pid"], answer["started"][0]);
  EXPECT_EQ(now[2]["state"], "ready");
  EXPECT_EQ(now[2]["cwd"], dir);

  // Not ready in time: an error naming the worker, which is stopped as a failed one.
  const auto late =
      command("start " + test_worker_binary() + R"( 400 {"args": ["--never-ready"]})");
  EXPECT_EQ(late.status, 504) << late.body;
  EXPECT_NE(late.body.find("was not ready after 400 ms; stopped"), std::string::npos) << late.body;
  EXPECT_EQ(command("start ./no-such-program").status, 400);
  stop_gracefully(service, kKey);
}

TEST_F(CommandsTest, SeedUpgradeTakesCwdAndTimeoutAsPositionalArguments) {
  auto& service = start_service(kLongStop, {"--ready-after", "0", "--ignore-sigterm"});
  const std::string dir = std::filesystem::canonical(temp_dir()).string();
  // The old workers ignore SIGTERM: only the positional 300 ms lets this answer in time.
  const auto upgraded = command("upgrade all " + test_worker_binary() + " " + dir + " 300");
  ASSERT_EQ(upgraded.status, 200) << upgraded.body;
  // The new program (with its cwd) is the service's now: `info` shows it.
  const auto info = command("info");
  EXPECT_NE(info.body.find("\"cwd\":\"" + dir + "\""), std::string::npos) << info.body;
  // The new workers ignore SIGTERM too (the upgrade keeps the arguments).
  ASSERT_EQ(command("shutdown all 300").status, 200);
  EXPECT_EQ(service.wait_exit(10s), 1) << "killed after 300 ms: not a clean stop";
}

TEST_F(CommandsTest, TheOriginalsRestHabitsWithCurl) {
  auto& service = start_service(kLongStop, {"--ready-after", "0"});
  // The command line as the body, as the original appends the body to cmd.
  auto [status, out] = curl({"-d", "workers", url(std::string("accessKey=") + kKey)});
  ASSERT_EQ(status, 0) << out;
  ASSERT_TRUE(out.ends_with("\n[200]")) << out;
  EXPECT_EQ(json::parse(out.substr(0, out.rfind('\n')))["workers"].size(), 2u);
  // The README's two lines.
  std::tie(status, out) = curl({"-d", "", url(std::string("cmd=health&accessKey=") + kKey)});
  EXPECT_EQ(out, "{\"health\":\"ok\"}\n[200]");
  std::tie(status, out) = curl({"-d", "", "-H", std::string("Authorization: Bearer ") + kKey,
                                url("cmd=restart%20all%205000")});
  EXPECT_TRUE(out.ends_with("\n[200]")) << out;
  // No command: not found. An error is its text alone.
  std::tie(status, out) = curl({"-d", "", url(std::string("accessKey=") + kKey)});
  EXPECT_EQ(out, "no command given: POST /cli?cmd=<command line>, or the command line as the body[404]");
  std::tie(status, out) = curl({"-d", "", url(std::string("cmd=nosuch&accessKey=") + kKey)});
  EXPECT_EQ(out, "unknown command 'nosuch' (try help)[404]");
  // `help CMD` shows both forms.
  const json help = json::parse(command("help restart").body);
  EXPECT_EQ(help["usage"], "restart all|pid [timeout] [{\"timeout\": ms, \"async\": bool}]");
  stop_gracefully(service, kKey);
}

}  // namespace
}  // namespace cservice::testing
