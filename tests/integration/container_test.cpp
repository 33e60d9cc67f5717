// The master as PID 1 of a PID namespace, as in a container (`docker run`, a Kubernetes pod):
// started under `unshare --pid --fork --mount-proc`, it reaps every orphan, turns the signals the
// container runtime sends into a graceful stop of its workers, and exits with the service's
// outcome (0 when every worker stopped by itself, 1 when one had to be killed), which unshare
// passes on as a container runtime would.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <set>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cservice::testing {
namespace {

// The pid, seen from here, of the first child of `parent` (unshare's child: the master).
std::optional<pid_t> first_child_of(pid_t parent) {
  std::ifstream file(fmt::format("/proc/{}/task/{}/children", parent, parent));
  pid_t child = 0;
  if (file >> child) return child;
  return std::nullopt;
}

// The children of `parent` that are zombies (dead, not reaped).
std::vector<pid_t> zombie_children_of(pid_t parent) {
  std::vector<pid_t> zombies;
  std::ifstream file(fmt::format("/proc/{}/task/{}/children", parent, parent));
  for (pid_t child = 0; file >> child;) {
    std::ifstream stat(fmt::format("/proc/{}/stat", child));
    std::string text;
    std::getline(stat, text);
    const auto close = text.rfind(')');
    if (close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z') {
      zombies.push_back(child);
    }
  }
  return zombies;
}

// What `command` prints on stdout (nullopt if it could not run or failed).
std::optional<std::string> output_of(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
  if (::pclose(pipe) != 0) return std::nullopt;
  return text;
}

// The words of the `apt-get install` line of the Dockerfile stage that starts with `from`.
std::set<std::string> packages_of_stage(const std::string& dockerfile, const std::string& from) {
  std::set<std::string> packages;
  const auto stage = dockerfile.find("\nFROM " + from);
  if (stage == std::string::npos) return packages;
  const auto install = dockerfile.find("--no-install-recommends", stage);
  const auto end = dockerfile.find("&&", install);
  if (install == std::string::npos || end == std::string::npos) return packages;
  std::istringstream words(dockerfile.substr(install, end - install));
  for (std::string word; words >> word;) {
    if (word != "--no-install-recommends" && word != "\\") packages.insert(word);
  }
  return packages;
}

class ContainerTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    // A PID namespace needs CAP_SYS_ADMIN (root, as the CI machine runs the tests).
    const int status = std::system("unshare --pid --fork --mount-proc true >/dev/null 2>&1");
    if (status != 0) GTEST_SKIP() << "unshare --pid cannot run here (needs root): not tested";
  }

  // Starts `cservice args...` as PID 1 of a new PID namespace; `master` gets its pid as seen
  // from here.
  ServiceProcess& start_as_pid_one(std::vector<std::string> args, pid_t& master) {
    args.insert(args.begin(), {"--pid", "--fork", "--mount-proc", cservice_binary()});
    auto& service = start_program("/usr/bin/unshare", std::move(args));
    std::optional<pid_t> child;
    EXPECT_TRUE(wait_until([&] { return (child = first_child_of(service.pid())).has_value(); },
                           10s))
        << "unshare started no master";
    master = child.value_or(-1);
    return service;
  }

  // A worker that reports its pid and parent as it sees them, says so on SIGTERM, and every
  // 20 ms leaves an orphan behind (a child whose parent exits at once; it lives 10 ms).
  std::string orphan_maker() {
    return write_file("orphan-maker.sh", R"(#!/bin/sh
echo "worker sees pid $$ parent $PPID"
trap 'echo "worker $$ got SIGTERM"; exit 0' TERM
while :; do
  ( sleep 0.01 & )
  sleep 0.02
done
)",
                      true);
  }
};

TEST_F(ContainerTest, AsPidOneItReapsEveryOrphanAndStopsItsWorkersOnSigterm) {
  pid_t master = -1;
  auto& service = start_as_pid_one({"--workers", "2", orphan_maker()}, master);
  ASSERT_GT(master, 0);
  // The workers' parent is the master, and the master is PID 1 of the namespace.
  ASSERT_TRUE(service.wait_for_count(R"(worker sees pid \d+ parent 1$)", 2, 30s,
                                     "two workers whose parent is PID 1"));
  // The orphans are reparented to PID 1 and reaped there as they exit.
  ASSERT_TRUE(service.wait_for_count(R"(reaped orphan pid \d+ \(exit 0\))", 20, 30s,
                                     "the master reaping 20 orphans"));
  // None stays a zombie: each one seen dead is gone within a bound.
  std::vector<pid_t> stuck;
  for (int check = 0; check < 5; ++check) {
    for (const pid_t zombie : zombie_children_of(master)) {
      if (!wait_until([&] { return ::kill(zombie, 0) != 0; }, 2s)) stuck.push_back(zombie);
    }
  }
  EXPECT_TRUE(stuck.empty()) << stuck.size() << " orphan(s) left unreaped";

  // The container runtime's stop: SIGTERM to PID 1 reaches every worker as its stop signal.
  ASSERT_EQ(::kill(master, SIGTERM), 0);
  EXPECT_TRUE(service.wait_for_count(R"(worker \d+ got SIGTERM)", 2, 10s,
                                     "both workers told to stop"));
  EXPECT_EQ(service.wait_exit(20s), 0) << "a clean stop is exit status 0:\n" << service.output();
}

TEST_F(ContainerTest, AsPidOneAnInterruptStopsGracefullyToo) {
  pid_t master = -1;
  auto& service = start_as_pid_one(
      {"--workers", "2", "--ready", "notify", test_worker_binary(), "--", "--ready-after", "0"},
      master);
  ASSERT_GT(master, 0);
  ASSERT_TRUE(service.wait_for_count(R"(starting -> ready)", 2, 30s, "two workers ready"));
  // `docker run -it` and ^C: SIGINT to PID 1.
  ASSERT_EQ(::kill(master, SIGINT), 0);
  EXPECT_EQ(service.wait_exit(20s), 0) << service.output();
  EXPECT_EQ(service.count(R"(event workerExit .*"reason":"shutdown")"), 2u) << service.output();
}

TEST_F(ContainerTest, AWorkerKilledAtTheStopTimeoutMakesTheExitStatusOne) {
  pid_t master = -1;
  const std::string stubborn = write_file("stubborn.sh", R"(#!/bin/sh
trap 'echo "ignoring SIGTERM"' TERM
echo "stubborn worker up"
while :; do sleep 0.05; done
)",
                                          true);
  auto& service =
      start_as_pid_one({"--workers", "1", "--stop-timeout-ms", "300", stubborn}, master);
  ASSERT_GT(master, 0);
  ASSERT_TRUE(service.wait_for("stubborn worker up", 30s, "the worker running"));
  ASSERT_EQ(::kill(master, SIGTERM), 0);
  ASSERT_TRUE(service.wait_for("ignoring SIGTERM", 10s, "the worker told to stop"));
  EXPECT_EQ(service.wait_exit(20s), 1)
      << "a worker killed after its stop timeout is not a clean stop:\n" << service.output();
  EXPECT_EQ(service.count(R"(outlived the stop timeout and were killed \(exit status 1\))"), 1u)
      << service.output();
}

// examples/kubernetes/deployment.yaml as a pod would run it: its Secret's service.json (only the
// program and the addresses changed for the test) served by a master that is PID 1, answering the
// liveness and readiness probes on the paths and port the manifest gives, and stopping within
// terminationGracePeriodSeconds of the kubelet's SIGTERM.
TEST_F(ContainerTest, TheKubernetesExampleServesItsProbesAsPidOneAndStopsWithinTheGracePeriod) {
  const auto converted = output_of(
      "python3 -c 'import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))' " +
      examples_dir() + "/kubernetes/deployment.yaml");
  ASSERT_TRUE(converted) << "the manifest does not parse as YAML (python3-yaml)";
  const auto documents = nlohmann::json::parse(*converted);
  nlohmann::json secret, deployment;
  for (const auto& document : documents) {
    if (document.at("kind") == "Secret") secret = document;
    if (document.at("kind") == "Deployment") deployment = document;
  }
  ASSERT_TRUE(secret.is_object() && deployment.is_object()) << *converted;
  auto config = nlohmann::json::parse(secret.at("stringData").at("service.json").get<std::string>());
  const auto& pod = deployment.at("spec").at("template").at("spec");
  const auto& container = pod.at("containers").at(0);
  ASSERT_EQ(container.at("args"), nlohmann::json::array({"/etc/cservice/service.json"}));

  // What the manifest promises about stopping: the grace period covers preStop and the
  // workers' stop timeout.
  const auto& pre_stop = container.at("lifecycle").at("preStop").at("exec").at("command");
  ASSERT_EQ(pre_stop.at(0), "sleep");
  const long pre_stop_ms = std::stol(pre_stop.at(1).get<std::string>()) * 1000;
  const long grace_ms = pod.at("terminationGracePeriodSeconds").get<long>() * 1000;
  const long stop_timeout_ms = config.at("stopTimeoutMs").get<long>();
  EXPECT_GT(grace_ms, pre_stop_ms + stop_timeout_ms)
      << "the kubelet would SIGKILL the master before its workers' stop timeout";
  const auto annotations = deployment.at("spec").at("template").at("metadata").at("annotations");
  EXPECT_EQ(annotations.at("prometheus.io/path"), "/metrics");
  EXPECT_EQ(annotations.at("prometheus.io/port"), std::to_string(config.at("port").get<int>()));

  config["program"] = hello_worker_binary();
  config["listen"] = {"127.0.0.1:0"};
  config["host"] = "127.0.0.1";
  config["port"] = 0;
  config["stopTimeoutMs"] = 5000;
  const std::string file = write_file("service.json", config.dump(2), false);
  pid_t master = -1;
  auto& service = start_as_pid_one({file}, master);
  ASSERT_GT(master, 0);
  const int port = service.api_port(30s);
  ASSERT_GT(port, 0) << service.output();
  const auto probe = [&](const char* kind) {
    return http_get("127.0.0.1", port, container.at(kind).at("httpGet").at("path").get<std::string>());
  };
  const auto liveness = probe("livenessProbe");
  ASSERT_TRUE(liveness);
  EXPECT_EQ(liveness->status, 200) << liveness->body;
  const int workers = config.at("workerCount").get<int>();
  ASSERT_TRUE(service.wait_for_count(R"(starting -> ready)", static_cast<std::size_t>(workers),
                                     30s, "every worker ready"));
  const auto readiness = probe("readinessProbe");
  ASSERT_TRUE(readiness);
  EXPECT_EQ(readiness->status, 200) << readiness->body;
  const auto metrics = http_get("127.0.0.1", port, "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200) << "metricsPublic: the scrape needs no key";

  // The kubelet's stop: SIGTERM to PID 1, then SIGKILL after the grace period.
  ASSERT_EQ(::kill(master, SIGTERM), 0);
  EXPECT_EQ(service.wait_exit(std::chrono::milliseconds(grace_ms)), 0) << service.output();
}

// examples/container/Dockerfile: its runtime stage installs every shared library the binary
// links (beside what debian:12-slim has), its build stage only packages the project's set-up
// script installs, and its service.json serves.
TEST_F(ContainerTest, TheDockerfileInstallsWhatTheBinaryNeedsAndItsServiceFileServes) {
  std::ifstream in(examples_dir() + "/container/Dockerfile");
  const std::string dockerfile{std::istreambuf_iterator<char>(in), {}};
  ASSERT_FALSE(dockerfile.empty());
  const auto runtime = packages_of_stage(dockerfile, "debian:12-slim");
  const auto build = packages_of_stage(dockerfile, "debian:12 AS build");
  ASSERT_FALSE(runtime.empty());
  ASSERT_FALSE(build.empty());

  const auto libraries = output_of("ldd " + cservice_binary() + " | awk '/=> \\//{print $3}'");
  ASSERT_TRUE(libraries);
  std::istringstream paths(*libraries);
  int checked = 0;
  for (std::string path; paths >> path;) {
    // The sanitizer runtimes exist only in the test builds.
    if (path.find("libasan") != std::string::npos || path.find("libubsan") != std::string::npos) {
      continue;
    }
    auto owner = output_of("dpkg -S $(readlink -f " + path + ") 2>/dev/null || dpkg -S " + path);
    ASSERT_TRUE(owner) << "no package owns " << path;
    std::string package = owner->substr(0, owner->find(':'));
    static const std::set<std::string> in_the_base_image = {"libc6", "libgcc-s1", "libstdc++6"};
    if (in_the_base_image.contains(package)) continue;
    EXPECT_TRUE(runtime.contains(package))
        << path << " comes from " << package << ", which the runtime stage does not install";
    ++checked;
  }
  EXPECT_GT(checked, 0) << "ldd listed no library: " << *libraries;

  std::ifstream setup_file(std::string(SOURCE_DIR) + "/scripts/setup.sh");
  const std::string setup{std::istreambuf_iterator<char>(setup_file), {}};
  for (const auto& package : build) {
    EXPECT_NE(setup.find(package), std::string::npos)
        << package << " is built with in the image but not installed by scripts/setup.sh";
  }

  std::ifstream service_file(examples_dir() + "/container/service.json");
  auto config = nlohmann::json::parse(service_file);
  EXPECT_NE(dockerfile.find("/usr/local/bin/hello_worker"), std::string::npos);
  EXPECT_EQ(config.at("program"), "/usr/local/bin/hello_worker");
  config["program"] = hello_worker_binary();
  config["listen"] = {"127.0.0.1:0"};
  pid_t master = -1;
  auto& service = start_as_pid_one({write_file("service.json", config.dump(2), false)}, master);
  ASSERT_GT(master, 0);
  const int port = service.listen_port(30s);
  ASSERT_GT(port, 0) << service.output();
  const auto answer = http_get("127.0.0.1", port);
  ASSERT_TRUE(answer) << service.output();
  EXPECT_TRUE(answer->body.starts_with("hello from pid ")) << answer->body;
  ASSERT_EQ(::kill(master, SIGTERM), 0);
  EXPECT_EQ(service.wait_exit(20s), 0) << service.output();
}

}  // namespace
}  // namespace cservice::testing
