// The upgrade pipeline with the real binary, under load: a test gate that fails leaves the fleet
// as it was; one that passes (run while the canary serves, and seeing it) lets the upgrade
// complete, and `rollback` then returns to the previous program; a new worker that fails while
// the fleet bakes rolls every worker back by itself. No request of the load fails in any of them.

#include "hello_fleet_test.hpp"
#include "load_generator.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>

namespace cservice::testing {
namespace {

using nlohmann::json;
using Mode = LoadGenerator::Mode;

class UpgradePipelineTest : public HelloFleetTest {
 protected:
  json workers() {
    const auto answer = command("workers");
    EXPECT_TRUE(answer && answer->status == 200);
    return answer ? json::parse(answer->body)["workers"] : json::array();
  }
  // Every worker runs `program`, and the load saw no failure; after `since`, every answer came
  // from `body`.
  void expect_fleet(const std::string& program, LoadGenerator& load,
                    std::chrono::steady_clock::time_point since, const std::string& body) {
    // Keep the load on the result until some answers came after `since` (bounded).
    EXPECT_TRUE(wait_until(
        [&] {
          const auto samples = load.samples();
          return std::count_if(samples.begin(), samples.end(),
                               [&](const auto& s) { return s.sent > since; }) >= 5;
        },
        20s))
        << "no answers after the operation";
    load.stop();
    for (const auto& w : workers()) EXPECT_EQ(w["program"], program) << w.dump();
    std::size_t after = 0;
    for (const auto& sample : load.samples()) {
      EXPECT_TRUE(sample.ok) << sample.body;
      if (sample.sent > since) {
        ++after;
        EXPECT_TRUE(sample.body.starts_with(body + " from pid ")) << sample.body;
      }
    }
    EXPECT_EQ(load.failures(), 0u);
    EXPECT_GT(after, 0u);
  }
};

TEST_F(UpgradePipelineTest, AGateThatFailsLeavesTheFleetAsItWas) {
  auto& service = start_service();
  const std::string gate =
      write_file("smoke.sh", "#!/bin/sh\necho \"checking the canary\"\necho 'GET /health -> 502' >&2\nexit 3\n", true);
  LoadGenerator load(Mode::KeepAlive, "127.0.0.1", data_port_, 4);
  const json before = workers();

  const auto upgraded = command("upgrade all " + new_build() +
                                R"( {"args": ["--body", "v2"], "monitor": 200, "test": ")" +
                                gate + R"("})");
  ASSERT_TRUE(upgraded);
  EXPECT_EQ(upgraded->status, 500) << upgraded->body;
  EXPECT_NE(upgraded->body.find("cancelled at stage test: test " + gate +
                                ": failed (exit 3) after "),
            std::string::npos)
      << upgraded->body;
  EXPECT_NE(upgraded->body.find("0 worker(s) replaced, the others keep running as before\ntest "
                                "output:\nchecking the canary\nGET /health -> 502"),
            std::string::npos)
      << upgraded->body;
  const auto answered = std::chrono::steady_clock::now();
  const json after = workers();
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(after[i]["pid"], before[i]["pid"]);
  expect_fleet(hello_worker_binary(), load, answered, "v1");
  const auto info = json::parse(command("info")->body);
  EXPECT_EQ(info["program"], hello_worker_binary());
  EXPECT_FALSE(info.contains("previous")) << info.dump();
  stop_gracefully(service);
}

TEST_F(UpgradePipelineTest, AGateThatPassesSeesTheCanaryAndRollbackReturnsToThePreviousProgram) {
  auto& service = start_service();
  // The gate passes only once it has been answered by the new build: it runs while the canary
  // serves beside the old workers.
  const std::string gate = write_file(
      "smoke.sh",
      "#!/bin/sh\nfor i in $(seq 1 500); do\n"
      "  curl -fsS http://127.0.0.1:" + std::to_string(data_port_) +
          "/ | grep -q '^v2 from pid' && { echo \"canary answered after $i request(s)\"; exit 0; }\n"
      "done\necho 'the canary never answered'\nexit 1\n",
      true);
  LoadGenerator load(Mode::NewConnection, "127.0.0.1", data_port_, 4);

  const auto upgraded = command("upgrade all " + new_build() +
                                R"( {"args": ["--body", "v2"], "monitor": 100, "bake": 500, "test": ")" +
                                gate + R"("})");
  ASSERT_TRUE(upgraded);
  ASSERT_EQ(upgraded->status, 200) << upgraded->body;
  EXPECT_EQ(json::parse(upgraded->body)["replaced"].size(), 4u) << upgraded->body;
  EXPECT_EQ(service.count("canary answered after"), 0u) << "the test's output is not the log's";
  for (const auto& w : workers()) EXPECT_EQ(w["program"], new_build()) << w.dump();
  auto info = json::parse(command("info")->body);
  EXPECT_EQ(info["program"], new_build());
  EXPECT_EQ(info["previous"]["program"], hello_worker_binary()) << info.dump();
  EXPECT_EQ(info["previous"]["args"], json({"--body", "v1"})) << info.dump();

  const auto rolled = command("rollback");
  ASSERT_TRUE(rolled);
  ASSERT_EQ(rolled->status, 200) << rolled->body;
  const auto answered = std::chrono::steady_clock::now();
  expect_fleet(hello_worker_binary(), load, answered, "v1");
  info = json::parse(command("info")->body);
  EXPECT_EQ(info["program"], hello_worker_binary());
  EXPECT_EQ(info["previous"]["program"], new_build()) << "a second rollback goes forward again";
  stop_gracefully(service);
}

TEST_F(UpgradePipelineTest, ANewWorkerThatFailsWhileBakingRollsTheFleetBack) {
  auto& service = start_service();
  const std::string trigger = temp_dir() + "/fail-worker";
  LoadGenerator load(Mode::KeepAlive, "127.0.0.1", data_port_, 4);

  auto upgrade = std::async(std::launch::async, [&] {
    return command("upgrade all " + new_build() + R"( {"args": ["--body", "v2", "--fail-on", ")" +
                   trigger + R"("], "monitor": 100, "bake": 60000})");
  });
  ASSERT_TRUE(service.wait_for("every worker replaced; baking for 60000 ms", 30s, "the bake"));
  {
    std::ofstream(trigger) << "3\n";  // worker 3 of the new build gives up (cleanly)
  }
  ASSERT_EQ(upgrade.wait_for(60s), std::future_status::ready) << "no answer after the failure";
  const auto upgraded = upgrade.get();
  ASSERT_TRUE(upgraded);
  EXPECT_EQ(upgraded->status, 500) << upgraded->body;
  EXPECT_NE(upgraded->body.find("failed at stage bake: worker 3: the new process"),
            std::string::npos)
      << upgraded->body;
  EXPECT_NE(upgraded->body.find("rolled back 4 worker(s) to the previous program"),
            std::string::npos)
      << upgraded->body;
  const auto answered = std::chrono::steady_clock::now();
  expect_fleet(hello_worker_binary(), load, answered, "v1");
  EXPECT_FALSE(json::parse(command("info")->body).contains("previous"));
  // Worker 3 restarted on the old program by itself (it may still be starting): not mixed.
  const auto health = json::parse(command("health")->body);
  EXPECT_NE(health.value("health", ""), "mixed") << health.dump();
  stop_gracefully(service);
}

TEST_F(UpgradePipelineTest, AGateThatHangsIsKilledAtItsTimeOutAndWorkersShowTheCanary) {
  auto& service = start_service();
  const std::string pid_file = temp_dir() + "/gate.pid";
  const std::string gate =
      write_file("hang.sh", "#!/bin/sh\necho $$ > " + pid_file + "\nexec sleep 600\n", true);
  auto upgrade = std::async(std::launch::async, [&] {
    return command("upgrade all " + new_build() + R"( {"monitor": 0, "testTimeout": 1500, "test": ")" +
                   gate + R"("})");
  });
  // While the gate runs, `workers` shows the canary beside worker 1's process.
  ASSERT_TRUE(service.wait_for("running test " + gate, 30s, "the gate"));
  const json during = workers();
  ASSERT_TRUE(during[0].contains("incoming")) << during.dump();
  EXPECT_EQ(during[0]["incoming"]["program"], new_build()) << during.dump();
  EXPECT_EQ(during[0]["incoming"]["state"], "ready") << during.dump();
  EXPECT_EQ(during[0]["program"], hello_worker_binary()) << during.dump();
  ASSERT_EQ(upgrade.wait_for(60s), std::future_status::ready);
  const auto upgraded = upgrade.get();
  ASSERT_TRUE(upgraded);
  EXPECT_EQ(upgraded->status, 500) << upgraded->body;
  EXPECT_NE(upgraded->body.find("cancelled at stage test: test " + gate + ": timed out after"),
            std::string::npos)
      << upgraded->body;
  std::ifstream in(pid_file);
  pid_t gate_pid = 0;
  ASSERT_TRUE(in >> gate_pid);
  EXPECT_NE(::kill(gate_pid, 0), 0) << "the gate's process outlived its time-out";
  for (const auto& w : workers()) EXPECT_EQ(w["program"], hello_worker_binary()) << w.dump();
  stop_gracefully(service);
}

TEST_F(UpgradePipelineTest, BadPipelineOptionsAreRefusedAndChangeNothing) {
  auto& service = start_service();
  const json before = workers();
  const std::string v2 = new_build();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"bake": -1})", "upgrade: bake must be milliseconds, a whole number from 0 to"},
      {R"({"batch": 0})", "upgrade: batch must be the number of workers replaced at a time"},
      {R"({"test": "/no/such/gate"})", "upgrade: test: program /no/such/gate: No such file"},
      {R"({"testTimeout": 5})", "upgrade: testTimeout and testArgs need a test script"},
      {R"({"test": 3})", "upgrade: test: expected the program's path"},
      {R"({"cwd": ""})", R"(upgrade: cwd must be a directory, got "")"},
  };
  for (const auto& [options, error] : cases) {
    const auto answer = command("upgrade all " + v2 + " " + options);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 400) << options << ": " << answer->body;
    EXPECT_TRUE(answer->body.starts_with(error)) << options << ": " << answer->body;
  }
  const auto nothing = command("rollback");
  ASSERT_TRUE(nothing);
  EXPECT_EQ(nothing->status, 400);
  EXPECT_EQ(nothing->body,
            "rollback: nothing to roll back to: no upgrade all has completed since the service "
            "started");
  const json after = workers();
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(after[i]["pid"], before[i]["pid"]);
  stop_gracefully(service);
}

// The operator starts a gated upgrade and walks away: it answers 202 with an id, `operations`
// shows each stage and the progress as it goes, `wait` gives the upgrade's own answer.
TEST_F(UpgradePipelineTest, AnAsyncGatedUpgradeIsFollowedThroughItsStages) {
  auto& service = start_service();
  const std::string go = temp_dir() + "/go";
  const std::string gate = write_file(
      "gate.sh",
      "#!/bin/sh\nfor i in $(seq 1 600); do [ -e " + go + " ] && exit 0; sleep 0.05; done\nexit 1\n",
      true);
  LoadGenerator load(Mode::KeepAlive, "127.0.0.1", data_port_, 4);
  const auto started = command("upgrade all " + new_build() +
                               R"( {"args": ["--body", "v2"], "async": true, "monitor": 0, "bake": 200, "test": ")" +
                               gate + R"("})");
  ASSERT_TRUE(started);
  ASSERT_EQ(started->status, 202) << started->body;
  const int id = json::parse(started->body)["operation"];
  json op;
  ASSERT_TRUE(wait_until(
      [&] {
        op = json::parse(command("operations " + std::to_string(id))->body);
        return op.value("stage", json()) == "test";
      },
      30s))
      << op.dump();
  EXPECT_EQ(op["state"], "running") << op.dump();
  EXPECT_EQ(op["done"], 0) << op.dump();
  EXPECT_EQ(op["total"], 4) << op.dump();
  const auto waited = command("wait " + std::to_string(id) + " 100");
  ASSERT_TRUE(waited);
  EXPECT_EQ(waited->status, 504) << waited->body;
  EXPECT_NE(waited->body.find("stage test"), std::string::npos) << waited->body;

  { std::ofstream(go) << "go\n"; }
  const auto done = command("wait " + std::to_string(id));
  ASSERT_TRUE(done);
  ASSERT_EQ(done->status, 200) << done->body;
  EXPECT_EQ(json::parse(done->body)["replaced"].size(), 4u) << done->body;
  op = json::parse(command("operations " + std::to_string(id))->body);
  EXPECT_EQ(op["state"], "succeeded") << op.dump();
  EXPECT_EQ(op["done"], 4) << op.dump();
  const auto answered = std::chrono::steady_clock::now();
  expect_fleet(new_build(), load, answered, "v2");
  // Each stage was an event, in order.
  std::vector<std::string> stages;
  const std::string key = R"("stage":")";
  for (const auto& line : service.lines()) {
    const auto at = line.find(key);
    if (line.find("event operation ") == std::string::npos || at == std::string::npos ||
        line.find(R"("state":"running")") == std::string::npos) {
      continue;
    }
    const auto from = at + key.size();
    const std::string stage = line.substr(from, line.find('"', from) - from);
    if (stages.empty() || stages.back() != stage) stages.push_back(stage);
  }
  EXPECT_EQ(stages, (std::vector<std::string>{"canary", "monitor", "test", "replace", "bake"}));
  stop_gracefully(service);
}

// While an upgrade runs, `start` is refused as busy (the upgrade would not replace what it
// started); a cancel given twice at once is one cancel: the second joins the first (or, when
// the first has already ended it, says it was cancelled), the operation is cancelled and the
// fleet is back on the old program. (CancelTest joins two cancels during a rollback.)
TEST_F(UpgradePipelineTest, AStartWaitsForTheUpgradeAndTwoCancelsAreOne) {
  auto& service = start_service();
  LoadGenerator load(Mode::NewConnection, "127.0.0.1", data_port_, 4);
  const auto started = command("upgrade all " + new_build() +
                               R"( {"args": ["--body", "v2"], "async": true, "monitor": 60000})");
  ASSERT_TRUE(started);
  ASSERT_EQ(started->status, 202) << started->body;
  const std::string id = std::to_string(json::parse(started->body)["operation"].get<int>());
  ASSERT_TRUE(service.wait_for("watching the first upgraded worker", 30s, "the canary's trial"));

  const auto refused = command(R"(start {"count": 1})");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 409) << refused->body;
  EXPECT_EQ(refused->body, "busy: operation " + id + " (upgrade all " + new_build() +
                               ") is running; 'wait " + id + "' or 'cancel " + id + "'");

  auto first = std::async(std::launch::async, [&] { return command("cancel " + id); });
  auto second = std::async(std::launch::async, [&] { return command("cancel " + id); });
  int joined = 0;
  for (auto* cancel : {&first, &second}) {
    ASSERT_EQ(cancel->wait_for(60s), std::future_status::ready);
    const auto answer = cancel->get();
    ASSERT_TRUE(answer);
    if (answer->status == 200) {
      ++joined;
      EXPECT_EQ(json::parse(answer->body)["cancelled"], true) << answer->body;
    } else {
      EXPECT_EQ(answer->status, 409) << answer->body;
      EXPECT_NE(answer->body.find("is over: it was cancelled"), std::string::npos) << answer->body;
    }
  }
  EXPECT_GE(joined, 1);
  const auto op = json::parse(command("operations " + id)->body);
  EXPECT_EQ(op["state"], "cancelled") << op.dump();
  const auto answered = std::chrono::steady_clock::now();
  expect_fleet(hello_worker_binary(), load, answered, "v1");
  EXPECT_EQ(workers().size(), 4u);
  stop_gracefully(service);
}

}  // namespace
}  // namespace cservice::testing
