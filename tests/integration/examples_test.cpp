// The script examples behave as their comments say.

#include "integration_test.hpp"

#include "http_client.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>

namespace cservice::testing {
namespace {

class ExamplesTest : public IntegrationTest {};

TEST_F(ExamplesTest, CrashingWorkerEndsInACrashLoop) {
  auto& service = start({"--workers", "1", "--restarts-per-minute", "2", "--restart-delay-ms", "10",
                         examples_dir() + "/crashing_worker.sh"},
                        {{"CRASH_AFTER_SECONDS", "0"}});
  ASSERT_TRUE(service.wait_for("CRASH LOOP: worker 1 failed after 2 restarts", 10s,
                               "the crash-loop report"));
  EXPECT_EQ(service.count(R"(^worker 1\[\d+\]: crashing worker 1: something went wrong$)"), 3u);
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(ExamplesTest, SlowStartWorkerBecomesReadyWhenWarm) {
  auto& service = start({"--workers", "2", "--ready", "notify",
                         examples_dir() + "/slow_start_worker.py", "--", "0.3"});
  ASSERT_TRUE(service.wait_for_count(R"(ready \(READY=1\))", 2, 10s, "both slow workers ready"));
  EXPECT_TRUE(service.wait_for_count(R"(: slow worker \d+ ready after 0.3 s$)", 2, 5s,
                                     "both workers' own ready lines"));
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

// docs/deploying.md's CI job, as written: examples/deploy/deploy.sh ships a build into a release
// directory, re-points `current` and upgrades the running service, gated by the build's
// smoke.sh and a bake; a build that fails is rolled back and `current` points back too.
TEST_F(ExamplesTest, DeployScriptShipsAGoodBuildAndRollsABadOneBack) {
  namespace fs = std::filesystem;
  const std::string app = fs::canonical(temp_dir()).string() + "/app";
  const auto make_build = [&](const std::string& name, bool good) {
    const std::string dir = temp_dir() + "/" + name;
    fs::create_directories(dir);
    if (good) {
      fs::copy_file(hello_worker_binary(), dir + "/server");
    } else {
      write_file(name + "/server", "#!/bin/sh\necho 'server: config missing' >&2\nexit 78\n",
                 true);
    }
    fs::copy_file(examples_dir() + "/deploy/smoke.sh", dir + "/smoke.sh");
    return dir;
  };
  fs::create_directories(app + "/releases");
  fs::copy(make_build("build-r1", true), app + "/releases/r1");
  fs::create_directory_symlink("releases/r1", app + "/current");
  const std::string key = "deploy-key";
  auto& service = start({"--workers", "2", "--listen", "127.0.0.1:0", "--access-key", key,
                         "--host", "127.0.0.1", "--port", "0", app + "/current/server"});
  const int data_port = service.listen_port();
  const int api_port = service.api_port();
  ASSERT_TRUE(service.wait_for_count("starting -> ready", 2, 10s, "2 workers ready"));
  const std::string path = fs::path(cservice_binary()).parent_path().string() + ":" +
                           std::getenv("PATH");
  const std::map<std::string, std::string> env = {
      {"PATH", path},
      {"APP_ROOT", app},
      {"CSERVICE_PORT", std::to_string(api_port)},
      {"CSERVICE_ACCESS_KEY", key},
      {"APP_URL", "http://127.0.0.1:" + std::to_string(data_port) + "/"},
      {"SMOKE_REQUESTS", "10"},
      {"MONITOR_MS", "100"},
      {"BAKE_MS", "300"}};
  const auto run_deploy = [&](const std::string& build, const std::string& id) {
    auto with_id = env;
    with_id["RELEASE_ID"] = id;
    ServiceProcess run(Program{examples_dir() + "/deploy/deploy.sh"}, {build}, with_id);
    const int status = run.wait_exit(60s).value_or(-1);
    return std::make_pair(status, run.output());
  };
  const auto programs = [&] {
    std::vector<std::string> out;
    const auto answer = run_command(api_port, key, "workers");
    EXPECT_EQ(answer.status, 200) << answer.body;
    const auto list = nlohmann::json::parse(answer.body)["workers"];
    for (const auto& w : list) out.push_back(w["program"]);
    return out;
  };

  const auto [good, good_output] = run_deploy(make_build("build-r2", true), "r2");
  EXPECT_EQ(good, 0) << good_output;
  EXPECT_NE(good_output.find("deploy: release r2 serves (previous: releases/r1)"),
            std::string::npos)
      << good_output;
  EXPECT_EQ(programs(), std::vector<std::string>(2, app + "/releases/r2/server"));
  EXPECT_EQ(fs::read_symlink(app + "/current"), app + "/releases/r2");

  const auto [bad, bad_output] = run_deploy(make_build("build-r3", false), "r3");
  EXPECT_EQ(bad, 1) << bad_output;
  EXPECT_NE(bad_output.find("cancelled at stage canary: worker 1: the new process"),
            std::string::npos)
      << bad_output;
  EXPECT_NE(bad_output.find("deploy: release r3 failed; the service went back to " + app +
                            "/releases/r2"),
            std::string::npos)
      << bad_output;
  EXPECT_EQ(programs(), std::vector<std::string>(2, app + "/releases/r2/server"));
  EXPECT_EQ(fs::read_symlink(app + "/current"), app + "/releases/r2");
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

}  // namespace
}  // namespace cservice::testing
