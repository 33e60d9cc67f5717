// Library mode: programs that link cservice::cservice and call cservice::start() are the master,
// re-executed as their own workers. The example (examples/library_service.cpp) serves traffic
// and answers its custom commands; the test program (tests/helpers/library_test_service.cpp)
// has commands that misbehave on purpose and workers that call their master.

#include <algorithm>
#include <csignal>
#include <future>
#include <nlohmann/json.hpp>
#include <set>

#include "http_client.hpp"
#include "integration_test.hpp"

namespace cservice::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey = "library-key";

class LibraryTest : public IntegrationTest {
 protected:
  // Starts the test program with `options` merged over the test's defaults.
  ServiceProcess& start_test_service(json options, const std::string& worker_mode = "") {
    json merged = {{"accessKey", kKey},
                   {"host", "127.0.0.1"},
                   {"port", 0},
                   {"workerCount", 2},
                   {"cli", false}};
    merged.update(options);
    std::vector<std::string> args = {merged.dump()};
    if (!worker_mode.empty()) args.push_back(worker_mode);
    auto& service = start_program(library_test_service_binary(), args);
    port_ = service.api_port();
    EXPECT_TRUE(service.wait_for_count(
        "starting -> ready", merged["workerCount"].get<std::size_t>(), 10s, "the workers ready"));
    return service;
  }
  HttpAnswer command(const std::string& line) { return run_command(port_, kKey, line); }
  json result(const std::string& line) {
    const auto answer = command(line);
    EXPECT_EQ(answer.status, 200) << line << ": " << answer.body;
    return json::parse(answer.body, nullptr, false);
  }
  // Stops the service; each worker must have left by its on_stop callback (exit 0), not by
  // the stop signal's default action.
  void stop(ServiceProcess& service, std::size_t workers = 2) {
    service.signal(SIGTERM);
    EXPECT_EQ(service.wait_exit(10s), 0) << service.output();
    EXPECT_EQ(service.count(R"(event workerExit \{.*"reason":"shutdown","status":"exit 0")"),
              workers)
        << service.output();
  }

  int port_ = -1;
};

TEST_F(LibraryTest, ExampleServesTrafficFromItsWorkersAndAnswersItsCommands) {
  auto& service = start_program(library_service_binary(), {json{{"accessKey", kKey},
                                                                {"host", "127.0.0.1"},
                                                                {"port", 0},
                                                                {"workerCount", 3},
                                                                {"listen", "127.0.0.1:0"},
                                                                {"cli", false}}
                                                               .dump()});
  const int data_port = service.listen_port();
  port_ = service.api_port();
  ASSERT_TRUE(service.wait_for_count("starting -> ready", 3, 10s, "3 workers ready"));

  // Traffic: every answer comes from one of the 3 workers, each a process of this same binary,
  // and (with concurrent clients, so more than one worker is busy accepting) from several.
  const auto started = service.started_pids();
  ASSERT_EQ(started.size(), 3u);
  std::set<pid_t> answered_by;
  for (int round = 0; round < 10 && answered_by.size() < 2; ++round) {
    std::vector<std::future<std::optional<HttpAnswer>>> answers;
    for (int i = 0; i < 16; ++i) {
      answers.push_back(std::async(std::launch::async,
                                   [data_port] { return http_get("127.0.0.1", data_port, "/"); }));
    }
    for (auto& answer : answers) {
      const auto got = answer.get();
      ASSERT_TRUE(got && got->status == 200) << "a request failed in round " << round;
      const auto at = got->body.find(" pid ");
      ASSERT_NE(at, std::string::npos) << got->body;
      const pid_t pid = std::stoi(got->body.substr(at + 5));
      EXPECT_NE(std::find(started.begin(), started.end(), pid), started.end())
          << "answered by pid " << pid << ", not one of the workers";
      answered_by.insert(pid);
    }
  }
  EXPECT_GE(answered_by.size(), 2u) << "every answer came from one worker";

  // The custom command over REST, then with the cservice CLI.
  const json greeting = result("greet Ann");
  EXPECT_EQ(greeting["greeting"], "hello, Ann");
  EXPECT_EQ(greeting["master"], service.pid());
  EXPECT_TRUE(service.wait_for(R"(^library_service: greeted \["Ann"\]$)", 5s,
                               "the subscriber of the example's own event"));
  ServiceProcess cli(
      {"greet Bob", "--access-key", kKey, "--host", "127.0.0.1", "--port", std::to_string(port_)});
  ASSERT_EQ(cli.wait_exit(10s), 0) << cli.output();
  EXPECT_NE(cli.output().find("\"greeting\": \"hello, Bob\""), std::string::npos) << cli.output();

  // The overridden health: the example's own view, fed by the workerStart events.
  const json health = result("health");
  EXPECT_EQ(health["status"], "ok");
  EXPECT_EQ(health["workerStarts"], 3);
  EXPECT_FALSE(health.contains("health")) << "the built-in health answered: " << health.dump();

  // A worker asks its master for `workers` over the worker channel and serves the answer.
  const auto listed = http_get("127.0.0.1", data_port, "/workers");
  ASSERT_TRUE(listed && listed->status == 200);
  const json workers = json::parse(listed->body, nullptr, false);
  ASSERT_TRUE(workers.contains("workers")) << listed->body;
  EXPECT_EQ(workers["workers"].size(), 3u);
  // The custom command's help, as registered.
  EXPECT_EQ(result("help greet")["usage"], "greet [name]");
  stop(service, 3);
}

TEST_F(LibraryTest, CommandsThatThrowOrNeverAnswerGetErrorsAndTheMasterServesOn) {
  auto& service = start_test_service(json::object());
  const auto thrown = command("throws");
  EXPECT_EQ(thrown.status, 500);
  EXPECT_NE(thrown.body.find("the handler threw on purpose"), std::string::npos) << thrown.body;

  const auto start = Clock::now();
  const auto never = command("never");
  EXPECT_EQ(never.status, 504) << never.body;
  EXPECT_NE(never.body.find("no answer within 300 ms"), std::string::npos) << never.body;
  EXPECT_GE(Clock::now() - start, 300ms);

  const auto dropped = command("dropped");
  EXPECT_EQ(dropped.status, 500);
  EXPECT_NE(dropped.body.find("finished without answering"), std::string::npos) << dropped.body;

  // An answer from another thread, later.
  EXPECT_EQ(result("later 50")["waited"], 50);
  // The master is intact: workers still ready, built-ins answer.
  EXPECT_EQ(result("version")["version"].is_string(), true);
  EXPECT_EQ(result("health")["custom"], true);
  EXPECT_EQ(service.count("starting -> ready"), 2u);
  stop(service);
}

TEST_F(LibraryTest, ControlDecidesWhatARemotePeerMayCall) {
  // No local network: the test's loopback peer counts as remote.
  auto& service = start_test_service({{"localNetworks", json::array()}});
  // The program made `workers` local with control() before start().
  const auto workers = command("workers");
  EXPECT_EQ(workers.status, 401);
  EXPECT_NE(workers.body.find("'workers' needs local access; this caller is remote"), std::string::npos)
      << workers.body;
  EXPECT_EQ(command("version").status, 200);
  // A level declared when the command was registered.
  const auto secret = command("secret");
  EXPECT_EQ(secret.status, 401);
  EXPECT_NE(secret.body.find("'secret' needs local access; this caller is remote"), std::string::npos)
      << secret.body;
  // A control() or an on() with a bad level was refused whole: `exit` keeps its level, `version`
  // was not disabled, `bad` does not exist.
  EXPECT_EQ(service.count("^refused: cservice::control\\(\\): level 'sideways' of 'exit' is not "
                          "remote, local, inproc or disabled$"),
            1u)
      << service.output();
  EXPECT_EQ(service.count("^refused: cservice::on\\(\"bad\"\\): level 'sideways' is not remote, "
                          "local, inproc or disabled$"),
            1u)
      << service.output();
  EXPECT_EQ(command("bad").status, 404);
  // control() at runtime, from a command handler.
  EXPECT_EQ(command("lockdown").status, 200);
  const auto version = command("version");
  EXPECT_EQ(version.status, 401) << version.body;
  stop(service);
}

TEST_F(LibraryTest, MasterCodeTriggersCommandsAndEvents) {
  auto& service = start_test_service(json::object());
  // trigger() of a command from the master's code runs it at level inproc.
  const json relayed = result("relay workers");
  EXPECT_EQ(relayed["status"], 200);
  EXPECT_EQ(relayed["result"]["workers"].size(), 2u);
  // trigger() of an event reaches its subscribers.
  const json event = result(R"(relay fromWorker "from master" 7)");
  EXPECT_EQ(event["status"], 200);
  EXPECT_EQ(event["result"], (json{{"event", "fromWorker"}, {"subscribers", 1}}));
  EXPECT_TRUE(service.wait_for(R"(^event fromWorker \["from master",7\]$)", 5s, "the event"));
  // Neither a command nor a subscriber.
  EXPECT_EQ(result("relay nothing-here")["status"], 404);
  // call() from a thread of the master's own waits for the answer.
  const json called = result("from-thread version");
  EXPECT_EQ(called["status"], 200);
  EXPECT_TRUE(called["result"]["version"].is_string());
  stop(service);
  EXPECT_TRUE(service.wait_for("^after stop: 503$", 5s, "the answer of a trigger after stop"));
}

TEST_F(LibraryTest, WorkerCallsReachTheMasterAndAnswersComeBack) {
  auto& service = start_test_service(json::object(), "ask");
  // Each worker asked for `workers`, at level local (which `workers` requires here).
  ASSERT_TRUE(service.wait_for_count(R"(: asked: 200 \{"workers":\[)", 2, 10s,
                                     "both workers' answers from the master"));
  EXPECT_EQ(service.count(R"(control: worker pid \d+: workers)"), 2u);
  stop(service);
}

TEST_F(LibraryTest, WorkerEventsReachTheMastersSubscribers) {
  auto& service = start_test_service(json::object(), "raise");
  ASSERT_TRUE(service.wait_for_count(R"(^event fromWorker \["hello",[12]\]$)", 2, 10s,
                                     "the workers' events at the master's subscriber"));
  EXPECT_TRUE(service.wait_for_count(
      R"(raised: \{"error":"","result":\{"event":"fromWorker","subscribers":1\},"status":200\})", 2,
      5s, "the answers in the workers"));
  stop(service);
}

TEST_F(LibraryTest, StartInAWorkerIsRefused) {
  auto& service = start_test_service({{"workerCount", 1}}, "start");
  ASSERT_TRUE(service.wait_for(R"(start in worker: 2$)", 10s, "start() refused in the worker"));
  EXPECT_EQ(service.count("starting -> ready"), 1u);
  stop(service, 1);
}

TEST_F(LibraryTest, BadOptionsFailAtStartWithTheNearestKey) {
  auto& service = start_program(library_test_service_binary(), {R"({"workerCont": 2})"});
  EXPECT_EQ(service.wait_exit(10s), 2);
  EXPECT_NE(service.output().find("unknown option 'workerCont' (did you mean 'workerCount'?)"),
            std::string::npos)
      << service.output();
  EXPECT_EQ(service.count("starting"), 0u);
}

}  // namespace
}  // namespace cservice::testing
