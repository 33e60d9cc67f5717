// The seed README's command forms as written, beside our options object: positional [cwd] and
// [timeout] for start, restart, shutdown and upgrade; `start PROGRAM` adding a worker when every
// slot is busy; and the original's REST habits (the command line as the POST body, 404 for no
// command, error texts without a trailing newline), tried with curl as a user would.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>

namespace cservice::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey = "seed-forms-key";

class SeedFormsTest : public IntegrationTest {
 protected:
  // Workers that ignore SIGTERM, with a stop timeout far beyond every wait of these tests: a
  // command that does not apply the timeout it was given cannot answer in time.
  ServiceProcess& start_service(std::vector<std::string> worker_args, int workers = 2) {
    std::vector<std::string> args = {"--workers",      std::to_string(workers),
                                      "--ready",        "notify",
                                      "--stop-timeout-ms", "60000",
                                      "--access-key",   kKey,
                                      "--host",         "127.0.0.1",
                                      "--port",         "0",
                                      test_worker_binary(), "--"};
    args.insert(args.end(), worker_args.begin(), worker_args.end());
    auto& service = start(args);
    port_ = service.api_port();
    EXPECT_TRUE(service.wait_for_count("starting -> ready", static_cast<std::size_t>(workers), 10s,
                                       "the workers ready"));
    return service;
  }
  HttpAnswer command(const std::string& line) { return run_command(port_, kKey, line, 15s); }
  json workers() { return json::parse(command("workers").body)["workers"]; }

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
  std::string url(const std::string& query) {
    return "http://127.0.0.1:" + std::to_string(port_) + "/cli?" + query;
  }

  int port_ = -1;
};

TEST_F(SeedFormsTest, RestartAndShutdownTakeTheTimeoutAsAPositionalArgument) {
  auto& service = start_service({"--ready-after", "0", "--ignore-sigterm"});
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
  EXPECT_EQ(bad.body, "restart: timeout must be milliseconds (a whole number), got \"soon\"");
  EXPECT_EQ(command("restart all 1 2").body, "restart: unexpected argument 2 (see help restart)");
  const auto all = command("shutdown all 300");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(service.wait_exit(10s), 0) << "shutdown all 300 kills the workers after 300 ms";
}

TEST_F(SeedFormsTest, StartWithAProgramAddsAWorkerWhenEverySlotIsBusy) {
  auto& service = start_service({"--ready-after", "0"});
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

TEST_F(SeedFormsTest, UpgradeTakesCwdAndTimeoutAsPositionalArguments) {
  auto& service = start_service({"--ready-after", "0", "--ignore-sigterm"});
  const std::string dir = std::filesystem::canonical(temp_dir()).string();
  // The old workers ignore SIGTERM: only the positional 300 ms lets this answer in time.
  const auto upgraded = command("upgrade all " + test_worker_binary() + " " + dir + " 300");
  ASSERT_EQ(upgraded.status, 200) << upgraded.body;
  // The new program (with its cwd) is the service's now: `info` shows it.
  const auto info = command("info");
  EXPECT_NE(info.body.find("\"cwd\":\"" + dir + "\""), std::string::npos) << info.body;
  // The new workers ignore SIGTERM too (the upgrade keeps the arguments).
  ASSERT_EQ(command("shutdown all 300").status, 200);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(SeedFormsTest, TheOriginalsRestHabitsWithCurl) {
  auto& service = start_service({"--ready-after", "0"});
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
  EXPECT_EQ(help["usage"], "restart all|pid [timeout] [{\"timeout\": ms}]");
  stop_gracefully(service, kKey);
}

}  // namespace
}  // namespace cservice::testing
