// Release directories, as deploy tools lay them out: releases/v1, releases/v2, ... each with its
// own build of the worker, and `current` a link to the one to run, re-pointed atomically by each
// deploy. A worker's program and cwd are resolved when chosen (service start, upgrade, start
// PROGRAM): a worker restarted later runs its release whatever `current` leads to by then, and
// `workers` names the release. Each release holds its own copy of the test worker, so /proc
// tells which release a process runs.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>

namespace cservice::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kKey = "release-dirs-key";
constexpr int kWorkers = 2;

// What a live process runs, from /proc: its executable, argv[0] and working directory.
struct Running {
  std::string exe;
  std::string argv0;
  std::string cwd;
};

Running running_of(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::error_code ec;
  Running r{fs::read_symlink(proc + "/exe", ec).string(), "",
            fs::read_symlink(proc + "/cwd", ec).string()};
  std::ifstream cmdline(proc + "/cmdline");
  std::getline(cmdline, r.argv0, '\0');
  return r;
}

class ReleaseDirsTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    // The temp directory may itself be behind a link (/tmp on some systems): the paths the
    // service reports are the resolved ones.
    app_ = fs::canonical(temp_dir()).string() + "/app";
    for (const char* release : {"v1", "v2", "v3"}) {
      fs::create_directories(release_dir(release));
      fs::copy_file(test_worker_binary(), release_dir(release) + "/server");
    }
    point_current_at("releases/v1");
  }

  std::string release_dir(const std::string& release) const {
    return app_ + "/releases/" + release;
  }
  // As deploy tools do it: a new link, renamed over the old one (never a moment without one).
  void point_current_at(const std::string& target) const {
    fs::create_directory_symlink(target, app_ + "/current.new");
    fs::rename(app_ + "/current.new", app_ + "/current");
  }

  // The service, started in the app directory on current/server with cwd current.
  ServiceProcess& start_service() {
    auto& service =
        start({"--workers", std::to_string(kWorkers), "--ready", "notify", "--restart-delay-ms",
               "0", "--access-key", kKey, "--host", "127.0.0.1", "--port", "0", "--cwd",
               app_ + "/current", app_ + "/current/server", "--", "--ready-after", "0"},
              {}, app_);
    port_ = service.api_port();
    EXPECT_TRUE(service.wait_for_count("starting -> ready", kWorkers, 10s, "the workers ready"));
    return service;
  }
  HttpAnswer command(const std::string& line) { return run_command(port_, kKey, line); }
  json workers() {
    const auto answer = command("workers");
    EXPECT_EQ(answer.status, 200) << answer.body;
    return json::parse(answer.body, nullptr, false).value("workers", json::array());
  }
  std::vector<pid_t> worker_pids() {
    std::vector<pid_t> pids;
    for (const auto& w : workers()) pids.push_back(w.value("pid", 0));
    return pids;
  }
  // Waits until every slot has a ready worker, none of them in `gone`.
  bool all_ready_without(const std::vector<pid_t>& gone) {
    return wait_until(
        [&] {
          const json list = workers();
          if (list.size() != static_cast<std::size_t>(kWorkers)) return false;
          return std::all_of(list.begin(), list.end(), [&](const json& w) {
            return w.value("state", "") == "ready" &&
                   std::find(gone.begin(), gone.end(), w.value("pid", 0)) == gone.end();
          });
        },
        10s);
  }
  // Every worker process runs `release` (executable, argv[0], cwd), and `workers` says so.
  void expect_fleet_runs(const std::string& release, const std::string& when) {
    const std::string server = release_dir(release) + "/server";
    const json list = workers();
    ASSERT_EQ(list.size(), static_cast<std::size_t>(kWorkers)) << when << ": " << list.dump();
    for (const auto& w : list) {
      const pid_t pid = w.value("pid", 0);
      EXPECT_EQ(w.value("program", ""), server) << when << ": " << w.dump();
      const Running r = running_of(pid);
      EXPECT_EQ(r.exe, server) << when << ": pid " << pid;
      EXPECT_EQ(r.argv0, server) << when << ": pid " << pid;
      EXPECT_EQ(r.cwd, release_dir(release)) << when << ": pid " << pid;
    }
  }

  std::string app_;
  int port_ = -1;
};

TEST_F(ReleaseDirsTest, WorkersKeepTheirReleaseUntilAnUpgradeNamesTheNewOne) {
  auto& service = start_service();
  expect_fleet_runs("v1", "at start");

  // A deploy re-points current; a worker that dies is replaced by one of its own release.
  point_current_at("releases/v2");
  const std::vector<pid_t> before = worker_pids();
  ASSERT_EQ(::kill(before[0], SIGKILL), 0);
  ASSERT_TRUE(all_ready_without({before[0]})) << "worker replaced: " << workers().dump();
  expect_fleet_runs("v1", "after a crash, current re-pointed to v2");

  // The upgrade resolves current now: every worker runs v2, in v2's directory.
  const auto upgraded = command("upgrade all current/server current");
  ASSERT_EQ(upgraded.status, 200) << upgraded.body;
  expect_fleet_runs("v2", "after upgrade all current/server");
  EXPECT_TRUE(
      service.wait_for("upgrade: " + app_ + "/current/server is " + release_dir("v2") + "/server",
                       5s, "the upgrade naming both paths"));
  const auto info = json::parse(command("info").body, nullptr, false);
  EXPECT_EQ(info.value("program", ""), release_dir("v2") + "/server") << info.dump();
  EXPECT_EQ(info.value("cwd", ""), release_dir("v2")) << info.dump();

  // The next deploy: a restart is no upgrade, the fleet stays on v2.
  point_current_at("releases/v3");
  const std::vector<pid_t> on_v2 = worker_pids();
  const auto restarted = command("restart all");
  ASSERT_EQ(restarted.status, 200) << restarted.body;
  ASSERT_TRUE(all_ready_without(on_v2)) << workers().dump();
  expect_fleet_runs("v2", "after restart all, current re-pointed to v3");
  EXPECT_EQ(json::parse(command("health").body, nullptr, false).value("health", ""), "ok");

  // An upgrade that names no cwd follows the link the cwd was named by, as the program's.
  const auto followed = command("upgrade all current/server");
  ASSERT_EQ(followed.status, 200) << followed.body;
  expect_fleet_runs("v3", "after upgrade all current/server with no cwd");

  stop_gracefully(service);
}

TEST_F(ReleaseDirsTest, ADanglingCurrentIsAClearErrorAndTheFleetIsUnchanged) {
  auto& service = start_service();
  point_current_at("releases/v9");  // a deploy that went wrong: no such release
  const std::vector<pid_t> before = worker_pids();

  const auto program = command("upgrade all current/server");
  EXPECT_EQ(program.status, 400) << program.body;
  EXPECT_NE(program.body.find("upgrade: program " + app_ + "/current/server is " +
                              release_dir("v9") + "/server: No such file or directory"),
            std::string::npos)
      << program.body;
  const auto cwd = command("upgrade all " + release_dir("v2") + "/server current");
  EXPECT_EQ(cwd.status, 400) << cwd.body;
  EXPECT_NE(cwd.body.find("upgrade: cwd " + app_ + "/current is " + release_dir("v9") +
                          ": does not exist"),
            std::string::npos)
      << cwd.body;
  const auto started = command("start current/server {\"count\": 1}");
  EXPECT_EQ(started.status, 400) << started.body;

  EXPECT_EQ(worker_pids(), before);
  expect_fleet_runs("v1", "after the refused upgrades");
  stop_gracefully(service);
}

TEST_F(ReleaseDirsTest, StartProgramRunsTheReleaseCurrentLeadsToThen) {
  auto& service = start_service();
  point_current_at("releases/v3");
  const auto answer = command(R"(start current/server {"count": 1, "cwd": "current"})");
  ASSERT_EQ(answer.status, 200) << answer.body;
  const auto started = json::parse(answer.body, nullptr, false).value("started", json::array());
  ASSERT_EQ(started.size(), 1u) << answer.body;
  const pid_t added = started[0];
  const Running r = running_of(added);
  EXPECT_EQ(r.exe, release_dir("v3") + "/server");
  EXPECT_EQ(r.argv0, release_dir("v3") + "/server");
  EXPECT_EQ(r.cwd, release_dir("v3"));
  const json list = workers();
  ASSERT_EQ(list.size(), static_cast<std::size_t>(kWorkers + 1)) << list.dump();
  EXPECT_EQ(list[kWorkers].value("program", ""), release_dir("v3") + "/server") << list.dump();
  EXPECT_EQ(list[0].value("program", ""), release_dir("v1") + "/server") << list.dump();
  stop_gracefully(service);
}

// The previous release was deleted after an upgrade: `rollback` says so before anything starts,
// and the fleet goes on as it was.
TEST_F(ReleaseDirsTest, ARollbackToADeletedReleaseIsRefused) {
  auto& service = start_service();
  point_current_at("releases/v2");
  const auto upgraded = command("upgrade all current/server");
  ASSERT_EQ(upgraded.status, 200) << upgraded.body;
  expect_fleet_runs("v2", "after the upgrade");
  const std::vector<pid_t> before = worker_pids();
  fs::remove_all(release_dir("v1"));
  const auto rolled = command("rollback");
  EXPECT_EQ(rolled.status, 400) << rolled.body;
  EXPECT_EQ(rolled.body, "rollback: program " + release_dir("v1") +
                             "/server: No such file or directory");
  EXPECT_EQ(worker_pids(), before);
  expect_fleet_runs("v2", "after the refused rollback");
  stop_gracefully(service);
}

}  // namespace
}  // namespace cservice::testing
