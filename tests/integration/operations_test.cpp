// Operations with ids: a long command given {"async": true} answers 202 at once with an
// operation id; `operations` lists it, `wait ID` answers with what the synchronous form would
// have, `cancel ID` stops a rollout (rolling back what it replaced), and a second rollout is
// refused naming the one that runs. The upgrades run under load and lose no request.

#include "http_client.hpp"
#include "integration_test.hpp"
#include "load_generator.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <thread>

namespace cservice::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey = "operations-key";

class OperationsTest : public IntegrationTest {
 protected:
  // A service of `workers` workers running `program` with `args`, its API on a free port and a
  // shared listening socket (for hello_worker).
  ServiceProcess& start_service(int workers, const std::string& program,
                                std::vector<std::string> args,
                                std::vector<std::string> options = {}) {
    std::vector<std::string> argv = {"--workers", std::to_string(workers), "--listen",
                                     "127.0.0.1:0", "--access-key", kKey, "--host", "127.0.0.1",
                                     "--port", "0", "--silent"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back(program);
    argv.push_back("--");
    argv.insert(argv.end(), args.begin(), args.end());
    auto& service = start(argv);
    data_port_ = service.listen_port();
    api_port_ = service.api_port();
    EXPECT_TRUE(service.wait_for_count("starting -> ready", static_cast<std::size_t>(workers),
                                       10s, "the workers ready"));
    return service;
  }
  ServiceProcess& start_hello(int workers) {
    return start_service(workers, hello_worker_binary(), {"--body", "v1"});
  }
  HttpAnswer command(const std::string& line) { return run_command(api_port_, kKey, line, 60s); }
  json result(const std::string& line) {
    const auto answer = command(line);
    EXPECT_TRUE(answer.status >= 200 && answer.status < 300) << line << ": " << answer.body;
    return json::parse(answer.body, nullptr, false);
  }
  // Each worker's pid and program, by slot.
  json fleet() {
    json list = json::array();
    const json workers = result("workers normal")["workers"];
    for (const auto& w : workers) {
      list.push_back({{"pid", w["pid"]}, {"program", w["program"]}});
    }
    return list;
  }
  // A "new build" of hello_worker at another path.
  std::string new_build() {
    const std::string path = temp_dir() + "/hello_v2";
    std::filesystem::copy_file(hello_worker_binary(), path);
    return path;
  }
  // Stops the load once it has done some requests (a quick operation on a loaded machine may be
  // over before the first ones are answered), so that the checks below see real traffic.
  static void stop_after_some(LoadGenerator& load) {
    EXPECT_TRUE(wait_until([&] { return load.successes() > 10; }, 20s))
        << "the load got no answers: " << load.successes() << " ok, " << load.failures()
        << " failed";
    load.stop();
  }
  static void expect_no_failure(const LoadGenerator& load) {
    EXPECT_EQ(load.failures(), 0u);
    for (const auto& sample : load.samples()) EXPECT_TRUE(sample.ok) << sample.body;
    EXPECT_GT(load.successes(), 10u);
  }

  int data_port_ = -1;
  int api_port_ = -1;
};

TEST_F(OperationsTest, AsyncRestartIsAcceptedListedAndWaitGivesTheSynchronousAnswer) {
  // Replacements take 1 s to be ready, so the restart is still running when listed.
  auto& service = start_service(2, test_worker_binary(), {"--ready-after", "1000"});
  const auto accepted = command(R"(restart all {"async": true})");
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  EXPECT_EQ(json::parse(accepted.body),
            (json{{"operation", 1}, {"kind", "restart"}, {"description", "restart all"},
                  {"state", "running"}, {"wait", "wait 1"}}));

  const json listed = result("operations");
  ASSERT_EQ(listed["operations"].size(), 1u) << listed;
  const json& running = listed["operations"][0];
  EXPECT_EQ(running["operation"], 1);
  EXPECT_EQ(running["kind"], "restart");
  EXPECT_EQ(running["state"], "running");
  EXPECT_TRUE(running.contains("stage") && running.contains("done") && running.contains("total"))
      << running;
  EXPECT_TRUE(running["elapsedMs"].is_number_integer()) << running;
  // RFC 3339 UTC with milliseconds: 2024-05-01T12:00:00.123Z.
  const std::string started_at = running["startedAt"];
  EXPECT_EQ(started_at.size(), 24u) << started_at;
  EXPECT_EQ(started_at.find_first_not_of("0123456789-T:.Z"), std::string::npos) << started_at;
  EXPECT_EQ(started_at.substr(10, 1) + started_at.substr(19, 1) + started_at.substr(23), "T.Z")
      << started_at;

  const auto waited = command("wait 1");
  ASSERT_EQ(waited.status, 200) << waited.body;
  const json done = json::parse(waited.body);
  EXPECT_EQ(done["replaced"].size(), 2u) << done;
  // The same answer again, and in the record: the outcome is kept.
  EXPECT_EQ(command("wait 1").body, waited.body);
  const json one = result("operations 1");
  EXPECT_EQ(one["state"], "succeeded");
  EXPECT_EQ(one["outcome"], (json{{"status", 200}, {"result", done}}));
  EXPECT_TRUE(one["durationMs"].is_number_integer()) << one;

  // The synchronous form is an operation too, with the same shape of answer.
  const auto sync = command("restart all");
  ASSERT_EQ(sync.status, 200) << sync.body;
  EXPECT_EQ(json::parse(sync.body)["replaced"].size(), 2u);
  EXPECT_EQ(result("operations 2")["outcome"]["result"], json::parse(sync.body));
  EXPECT_EQ(command("wait 2").body, sync.body);
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(OperationsTest, SecondRolloutIsBusyNamingTheOperationAndWaitTimesOutWhileItGoesOn) {
  auto& service = start_service(2, test_worker_binary(), {"--ready-after", "1500"});
  ASSERT_EQ(command(R"(restart all {"async": true})").status, 202);
  const std::string busy = "busy: operation 1 (restart all) is running; 'wait 1' or 'cancel 1'";
  const auto second = command("restart all");
  EXPECT_EQ(second.status, 409);
  EXPECT_EQ(second.body, busy);
  const auto upgrade = command(fmt::format("upgrade all {}", test_worker_binary()));
  EXPECT_EQ(upgrade.status, 409);
  EXPECT_EQ(upgrade.body, busy);

  const auto timed_out = command("wait 1 100");
  EXPECT_EQ(timed_out.status, 504);
  EXPECT_TRUE(timed_out.body.starts_with(
      "wait: operation 1 (restart all) is still running after 100 ms"))
      << timed_out.body;
  EXPECT_EQ(result("operations 1")["state"], "running");
  const auto waited = command(R"(wait 1 {"timeout": 20000})");
  EXPECT_EQ(waited.status, 200) << waited.body;
  EXPECT_EQ(result("operations 1")["state"], "succeeded");
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(OperationsTest, BadRequestsAreRefusedClearly) {
  auto& service = start_service(1, test_worker_binary(), {"--ready-after", "0"});
  const auto bad_async = command(R"(restart all {"async": "yes"})");
  EXPECT_EQ(bad_async.status, 400);
  EXPECT_EQ(bad_async.body, R"(restart: async must be true or false, got "yes")");
  for (const char* line : {"wait 7", "cancel 7", "operations 7"}) {
    const auto unknown = command(line);
    EXPECT_EQ(unknown.status, 404) << line;
    EXPECT_NE(unknown.body.find("no operation 7"), std::string::npos) << unknown.body;
  }
  EXPECT_EQ(command("wait x").status, 400);
  EXPECT_EQ(command("cancel 0").status, 400);

  // start is an operation that cannot be cancelled; one that is over cannot be either.
  const auto started = command(R"(start {"count": 1, "async": true})");
  ASSERT_EQ(started.status, 202) << started.body;
  EXPECT_EQ(json::parse(started.body)["kind"], "start");
  const auto not_cancellable = command("cancel 1");
  EXPECT_EQ(not_cancellable.status, 400);
  EXPECT_NE(not_cancellable.body.find("cannot be cancelled"), std::string::npos)
      << not_cancellable.body;
  ASSERT_EQ(command("restart all").status, 200);
  const auto over = command("cancel 2");
  EXPECT_EQ(over.status, 409);
  EXPECT_EQ(over.body, "cancel: operation 2 (restart all) is over: it succeeded");
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

// The command-line client takes a 202 as success: it prints the result and exits 0.
TEST_F(OperationsTest, TheCommandLineClientPrintsAnAcceptedOperation) {
  auto& service = start_service(1, test_worker_binary(), {"--ready-after", "0"});
  auto& cli = start({R"(restart all {"async": true})", "--access-key", kKey, "--host",
                     "127.0.0.1", "--port", std::to_string(api_port_), "--json"});
  EXPECT_TRUE(cli.wait_for(R"("operation":1)", 10s, "the operation printed")) << cli.output();
  EXPECT_EQ(cli.wait_exit(10s), 0) << cli.output();
  EXPECT_EQ(command("wait 1").status, 200);
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

// An upgrade to a program that never becomes ready, cancelled while its canary starts: the
// fleet is as it was (same pids, same program), and no request failed meanwhile.
TEST_F(OperationsTest, CancelledUpgradeOfAProgramNeverReadyLeavesTheFleetUnchanged) {
  auto& service = start_service(3, hello_worker_binary(), {"--body", "v1"},
                                {"--ready-timeout-ms", "60000"});
  LoadGenerator load(LoadGenerator::Mode::NewConnection, "127.0.0.1", data_port_, 4);
  const json before = fleet();
  const auto accepted = command(fmt::format(
      R"(upgrade all {} {{"args": ["--never-ready"], "async": true}})", test_worker_binary()));
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  ASSERT_TRUE(service.wait_for(R"(starting \(upgrade)", 10s, "the canary starting"));

  const auto cancelled = command("cancel 1");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  const json answer = json::parse(cancelled.body);
  EXPECT_EQ(answer["operation"], 1);
  EXPECT_EQ(answer["cancelled"], true);
  EXPECT_EQ(answer["outcome"]["status"], 500);
  EXPECT_NE(answer["outcome"]["error"].get<std::string>().find("cancel 1"), std::string::npos)
      << answer;
  const json one = result("operations 1");
  EXPECT_EQ(one["state"], "cancelled");
  // wait gives the outcome the synchronous upgrade would have given.
  const auto waited = command("wait 1");
  EXPECT_EQ(waited.status, 500);
  EXPECT_EQ(waited.body, answer["outcome"]["error"].get<std::string>());
  stop_after_some(load);
  EXPECT_EQ(fleet(), before);
  expect_no_failure(load);
  for (const auto& sample : load.samples()) EXPECT_TRUE(sample.body.starts_with("v1 from pid "));
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(20s), 0);
}

// An upgrade whose canary serves on a long monitor trial, cancelled: the canary is stopped and
// the old workers serve on.
TEST_F(OperationsTest, CancelledUpgradeOnItsMonitorTrialKeepsTheOldFleet) {
  auto& service = start_hello(3);
  LoadGenerator load(LoadGenerator::Mode::KeepAlive, "127.0.0.1", data_port_, 4);
  const json before = fleet();
  const auto accepted = command(fmt::format(
      R"(upgrade all {} {{"args": ["--body", "v2"], "monitor": 60000, "async": true}})",
      new_build()));
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  ASSERT_TRUE(service.wait_for("watching the first upgraded worker", 10s, "the canary on trial"));
  const auto cancelled = command("cancel 1");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(json::parse(cancelled.body)["cancelled"], true);
  EXPECT_EQ(result("operations 1")["state"], "cancelled");
  const auto after_cancel = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(200ms);  // keep the load on the service a little
  stop_after_some(load);
  EXPECT_EQ(fleet(), before);
  expect_no_failure(load);
  for (const auto& sample : load.samples()) {
    if (sample.sent > after_cancel) {
      EXPECT_TRUE(sample.body.starts_with("v1 from pid ")) << sample.body;
    }
  }
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(20s), 0);
}

// Cancelled after its canary took over: what it replaced is rolled back to the old program.
TEST_F(OperationsTest, CancelledUpgradeRollsBackWhatItReplaced) {
  auto& service = start_hello(3);
  LoadGenerator load(LoadGenerator::Mode::NewConnection, "127.0.0.1", data_port_, 4);
  const std::string v1 = fleet()[0]["program"];
  // The new build's workers are ready only after 3 s: the canary takes over, then the rest
  // are still starting when the cancel comes.
  const auto accepted = command(fmt::format(
      R"(upgrade all {} {{"args": ["--ready-after", "3000"], "monitor": 0, "async": true}})",
      test_worker_binary()));
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  ASSERT_TRUE(service.wait_for("took over from pid", 15s, "the canary took over"));
  const auto cancelled = command("cancel 1");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  const json answer = json::parse(cancelled.body);
  EXPECT_EQ(answer["cancelled"], true);
  EXPECT_NE(answer["outcome"]["error"].get<std::string>().find("rolled back"), std::string::npos)
      << answer;
  stop_after_some(load);
  for (const auto& worker : fleet()) EXPECT_EQ(worker["program"], v1) << fleet();
  expect_no_failure(load);
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(20s), 0);
}

// Library code sees each operation's start and end as "operation" events; trigger() of an async
// command gets the 202.
TEST_F(OperationsTest, LibrarySubscribersSeeOperationEvents) {
  auto& service = start_program(library_test_service_binary(),
                                {json{{"accessKey", kKey},
                                      {"host", "127.0.0.1"},
                                      {"port", 0},
                                      {"workerCount", 1},
                                      {"cli", false}}
                                     .dump()});
  api_port_ = service.api_port();
  ASSERT_TRUE(service.wait_for("starting -> ready", 10s, "the worker ready"));
  const json relayed = result(R"(relay restart all {"async": true})");
  EXPECT_EQ(relayed["status"], 202) << relayed;
  EXPECT_EQ(relayed["result"]["operation"], 1) << relayed;
  EXPECT_TRUE(service.wait_for(R"(^event operation \{.*"operation":1.*"state":"running")", 5s,
                               "the operation's start event"));
  EXPECT_TRUE(service.wait_for(R"(^event operation \{.*"operation":1.*"state":"succeeded".*"status":200)",
                               10s, "the operation's end event"));
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0) << service.output();
}

}  // namespace
}  // namespace cservice::testing
