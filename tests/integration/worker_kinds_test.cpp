// The core's promises for every kind of program, not only well-behaved notify-speaking ones:
// each rolling and stopping command (restart all|pid, upgrade all|pid, start, shutdown
// pid|all) against silent programs (/bin/sleep), notify-speaking ones, ones that never become
// ready, crash in the canary or midway, ignore the stop signal, are slow to exit, or leave a
// descendant that escapes their process group. Each case checks that the answer arrives within
// its deadline (plus a margin for a loaded CI machine), what it says, which processes are alive
// afterwards, which program each worker runs, and that nothing is left behind.

#include "http_client.hpp"
#include "integration_test.hpp"
#include "load_generator.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>

namespace cservice::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr const char* kKey = "worker-kinds-key";
constexpr int kWorkers = 3;  // replaced one at a time: 1 + floor(3 * 0.33)
// Small option values, so that every deadline passes quickly.
constexpr milliseconds kGrace{200};          // --ready-grace-ms
constexpr milliseconds kReadyTimeout{1500};  // --ready-timeout-ms
constexpr milliseconds kStopTimeout{700};    // --stop-timeout-ms
constexpr milliseconds kMonitor{300};        // upgrade's "monitor" option
constexpr milliseconds kNotifyDelay{50};     // test_worker --ready-after
constexpr milliseconds kExitDelay{300};      // test_worker --exit-delay
// Added to every deadline: CI runs this on a loaded 2-core machine, and under ASan.
constexpr milliseconds kMargin{3000};

// What the workers are.
enum class Kind {
  Silent,          // /bin/sleep: knows nothing of cservice
  Notify,          // test_worker --ready-after 50
  IgnoresSigterm,  // ... --ignore-sigterm: only SIGKILL ends it
  SlowExit,        // ... --exit-delay 300: drains a while after the stop signal
  SetsidChild,     // ... --setsid-child: leaves a descendant in a session of its own
  DaemonChild,     // ... --daemon-child: the same through a daemon's double fork
};

const char* name_of(Kind kind) {
  switch (kind) {
    case Kind::Silent: return "Silent";
    case Kind::Notify: return "Notify";
    case Kind::IgnoresSigterm: return "IgnoresSigterm";
    case Kind::SlowExit: return "SlowExit";
    case Kind::SetsidChild: return "SetsidChild";
    case Kind::DaemonChild: return "DaemonChild";
  }
  return "Unknown";
}

struct WorkerProgram {
  std::string path;
  std::vector<std::string> args;
};

WorkerProgram program_of(Kind kind) {
  if (kind == Kind::Silent) return {"/bin/sleep", {"100000"}};
  WorkerProgram p{test_worker_binary(), {"--ready-after", std::to_string(kNotifyDelay.count())}};
  if (kind == Kind::IgnoresSigterm) p.args.push_back("--ignore-sigterm");
  if (kind == Kind::SlowExit) {
    p.args.insert(p.args.end(), {"--exit-delay", std::to_string(kExitDelay.count())});
  }
  if (kind == Kind::SetsidChild) p.args.push_back("--setsid-child");
  if (kind == Kind::DaemonChild) p.args.push_back("--daemon-child");
  return p;
}

bool has_descendant(Kind kind) { return kind == Kind::SetsidChild || kind == Kind::DaemonChild; }
void PrintTo(Kind kind, std::ostream* os) { *os << name_of(kind); }

// The workers of a service: a kind under a ready mode.
struct Fleet {
  Kind kind;
  const char* ready;  // auto, notify, started
};

std::string name_of(const Fleet& fleet) {
  std::string mode = fleet.ready;
  mode[0] = static_cast<char>(std::toupper(mode[0]));
  return std::string(name_of(fleet.kind)) + "Ready" + mode;
}
void PrintTo(const Fleet& fleet, std::ostream* os) { *os << name_of(fleet); }

// How long a new worker of this kind takes to count as ready.
milliseconds time_to_ready(const Fleet& fleet) {
  if (std::string_view(fleet.ready) == "started") return milliseconds(0);
  return fleet.kind == Kind::Silent ? kGrace : kNotifyDelay;
}

// The executable and the arguments a live process runs, from /proc.
std::string exe_of(pid_t pid) {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).string();
}

std::vector<std::string> args_of(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> args;
  for (std::string arg; std::getline(file, arg, '\0');) args.push_back(arg);
  if (!args.empty()) args.erase(args.begin());
  return args;
}

std::string canonical(const std::string& path) {
  std::error_code ec;
  const auto resolved = std::filesystem::canonical(path, ec);
  return ec ? path : resolved.string();
}

std::string pids_text(const std::vector<pid_t>& pids) {
  std::string text;
  for (const pid_t pid : pids) text += (text.empty() ? "" : ", ") + std::to_string(pid);
  return text;
}

class WorkerKindsTest : public IntegrationTest {
 protected:
  // An answer of the REST API, and how long it took.
  struct Answer {
    int status = 0;  // 0: no answer within the deadline
    std::string body;
    json result;     // the body as JSON; null when it is a plain-text error
    milliseconds elapsed{};
  };

  // Serves `program` with kWorkers workers under `ready` mode and waits until all are ready.
  ServiceProcess& start_service(const WorkerProgram& program, const std::string& ready,
                                std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--workers", std::to_string(kWorkers), "--ready", ready,
                                     "--access-key", kKey, "--host", "127.0.0.1", "--port", "0"};
    // The small time limits, unless `extra` sets them.
    for (const auto& [flag, value] : {std::pair{"--ready-grace-ms", kGrace},
                                      std::pair{"--ready-timeout-ms", kReadyTimeout},
                                      std::pair{"--stop-timeout-ms", kStopTimeout}}) {
      if (std::find(extra.begin(), extra.end(), flag) == extra.end()) {
        args.insert(args.end(), {flag, std::to_string(value.count())});
      }
    }
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(program.path);
    args.push_back("--");
    args.insert(args.end(), program.args.begin(), program.args.end());
    service_ = &start(args);
    // The output says "listening on" before it names the REST API.
    if (std::find(extra.begin(), extra.end(), "--listen") != extra.end()) {
      data_port_ = service_->listen_port();
    }
    port_ = service_->api_port();
    EXPECT_TRUE(service_->wait_for_count("starting -> ready", kWorkers, 10s, "the workers ready"));
    return *service_;
  }
  ServiceProcess& start_service(const Fleet& fleet, std::vector<std::string> extra = {}) {
    return start_service(program_of(fleet.kind), fleet.ready, std::move(extra));
  }

  // Sends `line` and waits for the answer at most `deadline`.
  Answer command(const std::string& line, milliseconds deadline = kMargin) {
    const auto sent = Clock::now();
    const HttpAnswer answer = run_command(port_, kKey, line, deadline);
    Answer out{answer.status, answer.body, json::parse(answer.body, nullptr, false),
               std::chrono::duration_cast<milliseconds>(Clock::now() - sent)};
    if (out.result.is_discarded()) out.result = json();
    if (out.status == 0) out.body = "no answer within " + std::to_string(deadline.count()) + " ms";
    return out;
  }
  static std::string describe(const Answer& answer) {
    return "status " + std::to_string(answer.status) + " after " +
           std::to_string(answer.elapsed.count()) + " ms: " + answer.body;
  }

  json workers() { return command("workers").result["workers"]; }
  std::vector<pid_t> worker_pids() {
    std::vector<pid_t> pids;
    for (const auto& w : workers()) pids.push_back(w["pid"].is_number() ? w["pid"].get<pid_t>() : 0);
    return pids;
  }
  json health() { return object_or_empty(command("health").result); }
  json info() { return object_or_empty(command("info").result); }
  static json object_or_empty(json value) { return value.is_object() ? value : json::object(); }

  // Waits until every worker is ready (polled: readiness by grace period has no event we see).
  bool all_ready(milliseconds timeout) {
    return wait_until(
        [this] {
          const json list = workers();
          return list.is_array() && std::all_of(list.begin(), list.end(), [](const json& w) {
                   return w["state"] == "ready";
                 });
        },
        timeout);
  }

  // Waits until each of `pids` is dead; a failure names the survivors.
  void expect_dead(const std::vector<pid_t>& pids, milliseconds timeout, const std::string& what) {
    const bool dead = wait_until(
        [&] { return std::all_of(pids.begin(), pids.end(), [](pid_t p) { return is_dead(p); }); },
        timeout);
    std::vector<pid_t> alive;
    for (const pid_t pid : pids) {
      if (!is_dead(pid)) alive.push_back(pid);
    }
    EXPECT_TRUE(dead) << what << " still alive after " << timeout.count()
                      << " ms: " << pids_text(alive);
  }
  void expect_alive(const std::vector<pid_t>& pids, const std::string& what) {
    for (const pid_t pid : pids) EXPECT_FALSE(is_dead(pid)) << what << " pid " << pid << " is dead";
  }
  // Every process the service ever started that is no current worker is gone.
  void expect_only_workers_left(const std::vector<pid_t>& current) {
    std::vector<pid_t> others;
    for (const pid_t pid : service_->started_pids()) {
      if (std::find(current.begin(), current.end(), pid) == current.end()) others.push_back(pid);
    }
    expect_dead(others, kStopTimeout + kMargin, "processes that are no longer workers");
  }
  // Each worker process runs `program` (as /proc sees it), and `info` names it as the program
  // new workers run.
  void expect_programs(const WorkerProgram& program) {
    const std::vector<pid_t> pids = worker_pids();
    ASSERT_EQ(pids.size(), static_cast<std::size_t>(kWorkers));
    for (std::size_t i = 0; i < pids.size(); ++i) {
      EXPECT_EQ(exe_of(pids[i]), canonical(program.path)) << "worker " << i + 1;
      EXPECT_EQ(args_of(pids[i]), program.args) << "worker " << i + 1;
    }
    EXPECT_EQ(info().value("program", json()), canonical(program.path))
        << "info names the program run now, links resolved";
  }
  // `workers` reports `program` for each worker, and `args` only where they differ from the
  // service's own (here: nowhere).
  void expect_reported_programs(const WorkerProgram& program) {
    for (const auto& w : workers()) {
      EXPECT_EQ(w.value("program", json()), canonical(program.path)) << w.dump();
      EXPECT_FALSE(w.contains("args")) << "the service's own args are not repeated: " << w.dump();
    }
  }

  // Each replacement of `replaced` (a rollout's answer) was ready before the worker it replaced
  // exited: the log's "pid NEW: ready (why)" line comes before the workerExit event of OLD.
  void expect_ready_before_old_exited(const json& replaced) {
    // The answer may overtake the log lines written before it: wait for those first.
    for (const auto& entry : replaced) {
      if (!entry.contains("oldPid")) continue;
      const std::string old_pid = std::to_string(entry["oldPid"].get<pid_t>());
      service_->wait_for_count("event workerExit \\{\"pid\":" + old_pid + ",", 1, kMargin,
                               "the exit of pid " + old_pid);
    }
    const std::vector<std::string> lines = service_->lines();
    const auto first = [&lines](const std::regex& re) {
      const auto it = std::find_if(lines.begin(), lines.end(),
                                   [&re](const std::string& line) { return std::regex_search(line, re); });
      return static_cast<std::size_t>(it - lines.begin());
    };
    for (const auto& entry : replaced) {
      if (!entry.contains("oldPid")) continue;
      const std::string new_pid = std::to_string(entry["newPid"].get<pid_t>());
      const std::string old_pid = std::to_string(entry["oldPid"].get<pid_t>());
      const std::size_t ready = first(std::regex("pid " + new_pid + ":? ready \\("));
      const std::size_t exited = first(std::regex("event workerExit \\{\"pid\":" + old_pid + ","));
      EXPECT_LT(ready, lines.size()) << "no ready line for pid " << new_pid;
      EXPECT_LT(exited, lines.size()) << "no workerExit event for pid " << old_pid;
      EXPECT_LT(ready, exited) << "pid " << old_pid << " exited before its replacement pid "
                               << new_pid << " was ready";
    }
  }

  // The descendants that left their worker's process group, by the pid of their worker
  // (from the relayed lines "worker ID[PID]: descendant pid N").
  std::map<pid_t, pid_t> descendants() const {
    const std::regex re(R"(worker \d+\[(\d+)\]: descendant pid (\d+))");
    std::map<pid_t, pid_t> found;
    for (const auto& line : service_->lines()) {
      std::smatch m;
      if (std::regex_search(line, m, re)) found[std::stoi(m[1].str())] = std::stoi(m[2].str());
    }
    return found;
  }
  std::vector<pid_t> descendants_of(const std::vector<pid_t>& workers) const {
    const auto all = descendants();
    std::vector<pid_t> found;
    for (const pid_t pid : workers) {
      if (const auto it = all.find(pid); it != all.end()) found.push_back(it->second);
    }
    return found;
  }

  // A "new build": `program` copied to another path, so each process shows which one it runs.
  WorkerProgram new_build(const WorkerProgram& program) {
    const std::string path =
        temp_dir() + "/" + std::filesystem::path(program.path).filename().string() + "-v2";
    std::filesystem::copy_file(program.path, path,
                               std::filesystem::copy_options::overwrite_existing);
    return {path, program.args};
  }
  static std::string upgrade_line(const std::string& target, const WorkerProgram& program,
                                  milliseconds monitor = kMonitor) {
    return "upgrade " + target + " " + program.path + " " +
           json{{"args", program.args}, {"monitor", monitor.count()}}.dump();
  }

  // Stops the service gracefully; it exits within the stop timeout: 0, or 1 if a process of
  // the kind that resists the stop signal had to be killed (and the log says so).
  void stop_service() {
    service_->signal(SIGTERM);
    const auto status = service_->wait_exit(kStopTimeout + kMargin);
    ASSERT_TRUE(status) << "the service did not stop";
    EXPECT_EQ(*status, service_->count("outlived the stop timeout and were killed") > 0 ? 1 : 0);
  }

  ServiceProcess* service_ = nullptr;
  int port_ = -1;       // the REST API
  int data_port_ = -1;  // the first --listen socket
};

// ---- Rolling commands x worker kinds x ready modes -----------------------------------------

enum class Rolling { RestartAll, RestartOne, UpgradeAll };

const char* name_of(Rolling rolling) {
  switch (rolling) {
    case Rolling::RestartAll: return "RestartAll";
    case Rolling::RestartOne: return "RestartPid";
    case Rolling::UpgradeAll: return "UpgradeAll";
  }
  return "Unknown";
}
void PrintTo(Rolling rolling, std::ostream* os) { *os << name_of(rolling); }

class RollingTest : public WorkerKindsTest,
                    public ::testing::WithParamInterface<std::tuple<Rolling, Fleet>> {};

TEST_P(RollingTest, ReplacesEveryTargetReadyBeforeStopAndAnswersInTime) {
  const auto [rolling, fleet] = GetParam();
  const WorkerProgram old_program = program_of(fleet.kind);
  start_service(fleet);
  const std::vector<pid_t> before = worker_pids();
  const WorkerProgram program = rolling == Rolling::UpgradeAll ? new_build(old_program) : old_program;

  std::string line = "restart all";
  if (rolling == Rolling::RestartOne) line = "restart " + std::to_string(before[1]);
  if (rolling == Rolling::UpgradeAll) line = upgrade_line("all", program);
  const int batches = rolling == Rolling::RestartOne ? 1 : kWorkers;
  const milliseconds deadline = batches * time_to_ready(fleet) +
                                (rolling == Rolling::UpgradeAll ? kMonitor : milliseconds(0)) +
                                kStopTimeout + kMargin;
  const Answer answer = command(line, deadline);
  ASSERT_EQ(answer.status, 200) << describe(answer);
  const json replaced = answer.result["replaced"];
  ASSERT_EQ(replaced.size(), static_cast<std::size_t>(batches)) << answer.body;

  const std::vector<pid_t> after = worker_pids();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    const bool target = rolling != Rolling::RestartOne || i == 1;
    if (target) {
      EXPECT_NE(after[i], before[i]) << "worker " << i + 1 << " was not replaced";
      EXPECT_TRUE(is_dead(before[i])) << "replaced worker pid " << before[i] << " still runs";
    } else {
      EXPECT_EQ(after[i], before[i]) << "worker " << i + 1 << " was not a target";
    }
  }
  for (const auto& entry : replaced) {
    EXPECT_NE(std::find(before.begin(), before.end(), entry["oldPid"].get<pid_t>()), before.end());
    EXPECT_NE(std::find(after.begin(), after.end(), entry["newPid"].get<pid_t>()), after.end());
  }
  expect_ready_before_old_exited(replaced);
  expect_alive(after, "a worker");
  EXPECT_TRUE(all_ready(kMargin)) << workers().dump();
  EXPECT_EQ(health()["health"], "ok");
  if (rolling == Rolling::UpgradeAll) {
    expect_programs(program);
    expect_reported_programs(program);
  } else {
    for (const pid_t pid : after) EXPECT_EQ(exe_of(pid), canonical(old_program.path));
  }
  expect_only_workers_left(after);
  stop_service();
}

INSTANTIATE_TEST_SUITE_P(WorkerKinds, RollingTest,
    ::testing::Combine(::testing::Values(Rolling::RestartAll, Rolling::RestartOne,
                                         Rolling::UpgradeAll),
                       ::testing::Values(Fleet{Kind::Silent, "auto"}, Fleet{Kind::Silent, "started"},
                                         Fleet{Kind::Notify, "auto"},
                                         Fleet{Kind::Notify, "notify"})),
    [](const auto& param_info) {
      return std::string(name_of(std::get<0>(param_info.param))) + "_" +
             name_of(std::get<1>(param_info.param));
    });

// ---- Workers that are hard to stop, in a rolling restart -----------------------------------

class RestartStopTest : public WorkerKindsTest, public ::testing::WithParamInterface<Kind> {};

TEST_P(RestartStopTest, OldWorkersAndAllTheirDescendantsAreGoneWhenRestartAllAnswers) {
  const Kind kind = GetParam();
  auto& service = start_service(Fleet{kind, "auto"});
  const std::vector<pid_t> before = worker_pids();
  if (has_descendant(kind)) {
    ASSERT_TRUE(service.wait_for_count("descendant pid", kWorkers, 10s, "the escaped descendants"));
  }
  const std::vector<pid_t> escaped = descendants_of(before);

  const Answer answer = command("restart all", kWorkers * kNotifyDelay + kStopTimeout + kMargin);
  ASSERT_EQ(answer.status, 200) << describe(answer);
  EXPECT_EQ(answer.result["replaced"].size(), static_cast<std::size_t>(kWorkers));
  for (const pid_t pid : before) EXPECT_TRUE(is_dead(pid)) << "replaced worker pid " << pid;
  const std::vector<pid_t> after = worker_pids();
  expect_alive(after, "a new worker");
  // An escaped descendant is stopped once its worker has exited (SIGKILL at the stop timeout).
  expect_dead(escaped, kStopTimeout + kMargin, "descendants of replaced workers");
  if (kind == Kind::IgnoresSigterm) {
    EXPECT_EQ(service.count(R"("reason":"restart","status":"killed by SIGKILL")"),
              static_cast<std::size_t>(kWorkers));
  } else {
    EXPECT_EQ(service.count(R"("reason":"restart","status":"exit 0")") +
                  service.count(R"("reason":"restart","status":"killed by SIGTERM")"),
              static_cast<std::size_t>(kWorkers));
  }
  EXPECT_EQ(health()["health"], "ok");
  expect_only_workers_left(after);
  if (has_descendant(kind)) {
    ASSERT_TRUE(service.wait_for_count("descendant pid", 2 * kWorkers, 10s, "new descendants"));
  }
  const std::vector<pid_t> new_escaped = descendants_of(after);
  stop_service();
  expect_dead(new_escaped, kStopTimeout + kMargin, "descendants after the service stopped");
}

INSTANTIATE_TEST_SUITE_P(WorkerKinds, RestartStopTest,
                         ::testing::Values(Kind::IgnoresSigterm, Kind::SlowExit, Kind::SetsidChild),
                         [](const auto& param_info) { return std::string(name_of(param_info.param)); });

// ---- Upgrades that fail ---------------------------------------------------------------------

// How the new program fails.
enum class Failure {
  CanaryCrashesAtOnce,     // exits before it is ready
  CanaryCrashesOnTrial,    // ready, then exits while the canary is watched
  CanaryNeverReady,        // says STATUS=booting, never READY=1
  SilentUnderNotify,       // --ready notify and a program that never says anything
  MidwayAfterReady,        // only worker 2 fails, 100 ms after its READY=1
  MidwayBeforeReady,       // only worker 2 fails, before it counts as ready
};

struct FailureCase {
  Failure failure;
  const char* ready;
};

const char* name_of(Failure failure) {
  switch (failure) {
    case Failure::CanaryCrashesAtOnce: return "CanaryCrashesAtOnce";
    case Failure::CanaryCrashesOnTrial: return "CanaryCrashesOnTrial";
    case Failure::CanaryNeverReady: return "CanaryNeverReady";
    case Failure::SilentUnderNotify: return "SilentNeverReady";
    case Failure::MidwayAfterReady: return "Worker2FailsAfterReady";
    case Failure::MidwayBeforeReady: return "Worker2FailsBeforeReady";
  }
  return "Unknown";
}

bool rolls_back(Failure failure) {
  return failure == Failure::MidwayAfterReady || failure == Failure::MidwayBeforeReady;
}
void PrintTo(const FailureCase& c, std::ostream* os) { *os << name_of(c.failure) << " " << c.ready; }

// A new build that fails on worker 2 only, 100 ms after it is ready (READY=1 after 400 ms:
// the services of these tests wait longer than that before they count a silent worker ready).
std::vector<std::string> midway_failure_args() {
  return {"--ready-after", "400", "--crash-if-worker", "2"};
}
constexpr const char* kLongGrace = "1000";

class FailedUpgradeTest : public WorkerKindsTest,
                          public ::testing::WithParamInterface<FailureCase> {
 protected:
  // The new program of `failure`, a copy of test_worker.
  WorkerProgram failing_build(Failure failure) {
    WorkerProgram program = new_build({test_worker_binary(), {}});
    switch (failure) {
      case Failure::CanaryCrashesAtOnce: program.args = {"--crash-after", "0"}; break;
      case Failure::CanaryCrashesOnTrial:
        program.args = {"--ready-after", "50", "--crash-after", "200"};
        break;
      case Failure::CanaryNeverReady: program.args = {"--never-ready"}; break;
      case Failure::SilentUnderNotify: program = new_build({"/bin/sleep", {"100000"}}); break;
      // Worker 2 is ready 400 ms after it starts and fails 100 ms later, while worker 3's
      // replacement (400 ms to ready) is still starting: the rollout is under way.
      case Failure::MidwayAfterReady: program.args = midway_failure_args(); break;
      // Worker 2 fails 100 ms after it starts, before its READY=1 (and before readyGraceMs).
      case Failure::MidwayBeforeReady:
        program.args = {"--ready-after", "400", "--crash-if-worker", "2", "--crash-after", "100"};
        break;
    }
    return program;
  }
};

TEST_P(FailedUpgradeTest, FailsInTimeAndLeavesEveryWorkerOnTheOldProgram) {
  const auto [failure, ready] = GetParam();
  const WorkerProgram old_program = program_of(Kind::Notify);
  start_service(old_program, ready, {"--ready-grace-ms", kLongGrace});
  const std::vector<pid_t> before = worker_pids();
  const WorkerProgram program = failing_build(failure);

  // A canary that crashes on trial does so well within its trial, however slow its start.
  const milliseconds monitor = failure == Failure::CanaryCrashesOnTrial ? 1000ms : kMonitor;
  // Worst case: the canary's trial or ready timeout, then (rolling back) two replacements and
  // the stop of the failed ones.
  const milliseconds deadline = monitor + kReadyTimeout + 2 * kStopTimeout + kMargin;
  const Answer answer = command(upgrade_line("all", program, monitor), deadline);
  ASSERT_NE(answer.status, 0) << describe(answer);
  EXPECT_EQ(answer.status, 500) << "the upgrade ran and failed: " << describe(answer);
  if (rolls_back(failure)) {
    EXPECT_NE(answer.body.find("rolled back"), std::string::npos) << describe(answer);
  } else {
    EXPECT_NE(answer.body.find("cancelled"), std::string::npos) << describe(answer);
    EXPECT_EQ(worker_pids(), before) << "the old workers keep serving";
  }

  EXPECT_TRUE(all_ready(kMargin)) << workers().dump();
  const std::vector<pid_t> after = worker_pids();
  expect_alive(after, "a worker");
  expect_programs(old_program);
  if (rolls_back(failure)) expect_reported_programs(old_program);
  EXPECT_EQ(health()["health"], "ok") << health().dump();
  expect_only_workers_left(after);
  stop_service();
}

INSTANTIATE_TEST_SUITE_P(WorkerKinds, FailedUpgradeTest,
    ::testing::Values(FailureCase{Failure::CanaryCrashesAtOnce, "auto"},
                      FailureCase{Failure::CanaryCrashesOnTrial, "started"},
                      FailureCase{Failure::CanaryNeverReady, "auto"},
                      FailureCase{Failure::SilentUnderNotify, "notify"},
                      FailureCase{Failure::MidwayAfterReady, "auto"},
                      FailureCase{Failure::MidwayAfterReady, "notify"},
                      FailureCase{Failure::MidwayBeforeReady, "auto"}),
    [](const auto& param_info) {
      std::string mode = param_info.param.ready;
      mode[0] = static_cast<char>(std::toupper(mode[0]));
      return std::string(name_of(param_info.param.failure)) + "_Ready" + mode;
    });

TEST_F(WorkerKindsTest, CliReportsARolledBackUpgradeWithAFailingExitStatus) {
  const WorkerProgram old_program = program_of(Kind::Notify);
  start_service(old_program, "auto", {"--ready-grace-ms", kLongGrace});
  WorkerProgram program = new_build({test_worker_binary(), {}});
  program.args = midway_failure_args();

  const auto sent = Clock::now();
  auto& cli = start({"--run", upgrade_line("all", program), "--access-key", kKey, "--host", "127.0.0.1",
                     "--port", std::to_string(port_)});
  const milliseconds deadline = kMonitor + kReadyTimeout + 2 * kStopTimeout + kMargin;
  const auto status = cli.wait_exit(deadline);
  ASSERT_TRUE(status) << "no answer within " << deadline.count() << " ms";
  EXPECT_NE(*status, 0) << cli.output();
  EXPECT_NE(cli.output().find("rolled back"), std::string::npos) << cli.output();
  std::printf("answered in %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<milliseconds>(Clock::now() - sent).count()));
  EXPECT_TRUE(all_ready(kMargin)) << workers().dump();
  expect_programs(old_program);
  expect_reported_programs(old_program);
  expect_only_workers_left(worker_pids());
  stop_service();
}

// ---- A mixed fleet, on purpose --------------------------------------------------------------

TEST_F(WorkerKindsTest, UpgradeOnePidMakesAMixedFleetThatHealthReports) {
  const WorkerProgram old_program = program_of(Kind::Notify);
  start_service(old_program, "auto");
  const std::vector<pid_t> before = worker_pids();
  WorkerProgram program = new_build(old_program);
  program.args = {"--ready-after", "60"};

  const Answer answer = command(upgrade_line(std::to_string(before[1]), program),
                                kNotifyDelay + kMonitor + kStopTimeout + kMargin);
  ASSERT_EQ(answer.status, 200) << describe(answer);
  const json list = workers();
  ASSERT_EQ(list.size(), static_cast<std::size_t>(kWorkers));
  EXPECT_EQ(list[0]["pid"], before[0]);
  EXPECT_EQ(list[2]["pid"], before[2]);
  EXPECT_TRUE(is_dead(before[1]));
  const pid_t upgraded = list[1]["pid"];
  EXPECT_EQ(exe_of(upgraded), canonical(program.path));
  EXPECT_EQ(list[1].value("program", json()), canonical(program.path)) << list.dump();
  EXPECT_EQ(list[1].value("args", json()), json(program.args)) << list.dump();
  EXPECT_EQ(list[0].value("program", json()), canonical(old_program.path)) << list.dump();
  EXPECT_FALSE(list[0].contains("args")) << list.dump();
  EXPECT_EQ(info().value("program", json()), canonical(old_program.path))
      << "new workers still run the service's program";
  EXPECT_TRUE(all_ready(kMargin));
  const json now = health();
  EXPECT_EQ(now["health"], "mixed") << now.dump();
  EXPECT_TRUE(now.contains("reason")) << now.dump();
  stop_service();
}

TEST_F(WorkerKindsTest, StartAnotherSilentProgramMakesAMixedFleetOnceReady) {
  const WorkerProgram old_program = program_of(Kind::Silent);
  start_service(old_program, "auto");
  const WorkerProgram other = new_build(old_program);

  const Answer answer = command("start " + other.path + R"( {"count": 1})");
  ASSERT_EQ(answer.status, 200) << describe(answer);
  ASSERT_EQ(answer.result["started"].size(), 1u) << answer.body;
  const pid_t added = answer.result["started"][0];
  EXPECT_EQ(exe_of(added), canonical(other.path));
  EXPECT_TRUE(all_ready(kGrace + kMargin)) << "a silent added worker stays starting: "
                                           << workers().dump();
  const json list = workers();
  ASSERT_EQ(list.size(), static_cast<std::size_t>(kWorkers + 1));
  EXPECT_EQ(list[3].value("program", json()), canonical(other.path)) << list.dump();
  const json now = health();
  EXPECT_EQ(now["health"], "mixed") << now.dump();
  EXPECT_TRUE(now.contains("reason")) << now.dump();
  stop_service();
}

// ---- start after shutdown pid ---------------------------------------------------------------

class StartTest : public WorkerKindsTest, public ::testing::WithParamInterface<Fleet> {};

TEST_P(StartTest, StoppedSlotStartsAgainAndBecomesReady) {
  const Fleet fleet = GetParam();
  start_service(fleet);
  const std::vector<pid_t> before = worker_pids();
  const Answer stopped = command("shutdown " + std::to_string(before[1]), kStopTimeout + kMargin);
  ASSERT_EQ(stopped.status, 200) << describe(stopped);
  EXPECT_TRUE(is_dead(before[1]));
  EXPECT_EQ(workers()[1]["state"], "exited");

  const Answer started = command("start");
  ASSERT_EQ(started.status, 200) << describe(started);
  ASSERT_EQ(started.result["started"].size(), 1u) << started.body;
  const pid_t pid = started.result["started"][0];
  EXPECT_EQ(workers()[1]["pid"], pid);
  EXPECT_TRUE(all_ready(time_to_ready(fleet) + kMargin))
      << "the started worker did not become ready: " << workers().dump();
  EXPECT_EQ(health()["health"], "ok");
  const std::vector<pid_t> after = worker_pids();
  EXPECT_EQ(after, (std::vector<pid_t>{before[0], pid, before[2]}));
  expect_alive(after, "a worker");
  stop_service();
}

INSTANTIATE_TEST_SUITE_P(WorkerKinds, StartTest,
                         ::testing::Values(Fleet{Kind::Silent, "auto"},
                                           Fleet{Kind::Silent, "started"},
                                           Fleet{Kind::Notify, "notify"}),
                         [](const auto& param_info) { return name_of(param_info.param); });

// ---- shutdown pid ---------------------------------------------------------------------------

struct StopCase {
  Kind kind;
  std::optional<milliseconds> timeout;  // the command's {"timeout": ms}; else stopTimeoutMs
};
void PrintTo(const StopCase& c, std::ostream* os) {
  *os << name_of(c.kind) << (c.timeout ? " timeout " + std::to_string(c.timeout->count()) : "");
}

class ShutdownPidTest : public WorkerKindsTest, public ::testing::WithParamInterface<StopCase> {};

TEST_P(ShutdownPidTest, StopsThatWorkerAndWhatItLeftWithinItsTimeout) {
  const StopCase stop = GetParam();
  auto& service = start_service(Fleet{stop.kind, "auto"});
  const std::vector<pid_t> before = worker_pids();
  if (has_descendant(stop.kind)) {
    ASSERT_TRUE(service.wait_for_count("descendant pid", kWorkers, 10s, "the escaped descendants"));
  }
  const std::vector<pid_t> escaped = descendants_of({before[1]});

  const milliseconds timeout = stop.timeout.value_or(kStopTimeout);
  std::string line = "shutdown " + std::to_string(before[1]);
  if (stop.timeout) line += " " + json{{"timeout", stop.timeout->count()}}.dump();
  const Answer answer = command(line, timeout + kMargin);
  ASSERT_EQ(answer.status, 200) << describe(answer);
  const std::string status = answer.result["stopped"].value("status", "");
  if (stop.kind == Kind::IgnoresSigterm) {
    EXPECT_EQ(status, "killed by SIGKILL") << answer.body;
  } else if (stop.kind == Kind::Silent) {
    EXPECT_EQ(status, "killed by SIGTERM") << answer.body;
  } else {
    EXPECT_EQ(status, "exit 0") << answer.body;
  }
  EXPECT_TRUE(is_dead(before[1]));
  expect_dead(escaped, kStopTimeout + kMargin, "the stopped worker's escaped descendant");
  const json list = workers();
  EXPECT_EQ(list[1]["state"], "exited");
  EXPECT_EQ(list[0]["pid"], before[0]);
  EXPECT_EQ(list[2]["pid"], before[2]);
  expect_alive({before[0], before[2]}, "another worker");
  EXPECT_EQ(health()["health"], "degraded");
  stop_service();
}

INSTANTIATE_TEST_SUITE_P(WorkerKinds, ShutdownPidTest,
    ::testing::Values(StopCase{Kind::Silent, {}}, StopCase{Kind::Notify, {}},
                      StopCase{Kind::IgnoresSigterm, {}},
                      StopCase{Kind::IgnoresSigterm, milliseconds(300)},
                      StopCase{Kind::SlowExit, {}}, StopCase{Kind::SetsidChild, {}},
                      StopCase{Kind::DaemonChild, {}}),
    [](const auto& param_info) {
      return std::string(name_of(param_info.param.kind)) +
             (param_info.param.timeout ? "_Timeout" + std::to_string(param_info.param.timeout->count())
                                 : std::string());
    });

// ---- shutdown all {"timeout": ms} -----------------------------------------------------------

class ShutdownAllTest : public WorkerKindsTest, public ::testing::WithParamInterface<Kind> {};

TEST_P(ShutdownAllTest, ServiceExitsWithinTheCommandsTimeoutLeavingNothing) {
  const Kind kind = GetParam();
  // The service's own stop timeout is long (the default, 10 s): the command's must rule.
  auto& service = start_service(Fleet{kind, "auto"}, {"--stop-timeout-ms", "10000"});
  const std::vector<pid_t> before = worker_pids();
  if (has_descendant(kind)) {
    ASSERT_TRUE(service.wait_for_count("descendant pid", kWorkers, 10s, "the escaped descendants"));
  }
  const std::vector<pid_t> escaped = descendants_of(before);

  const auto sent = Clock::now();
  const Answer answer = command(R"(shutdown all {"timeout": 1000})");
  ASSERT_EQ(answer.status, 200) << describe(answer);
  EXPECT_EQ(answer.result.value("shutdown", json()), "all") << answer.body;
  const auto status = service.wait_exit(1000ms + kMargin);
  // Workers that ignore SIGTERM are killed at the timeout: not a clean stop, exit status 1.
  EXPECT_EQ(status, kind == Kind::IgnoresSigterm ? 1 : 0)
      << "the service did not exit within the command's timeout";
  std::printf("exited %lld ms after the command\n",
              static_cast<long long>(
                  std::chrono::duration_cast<milliseconds>(Clock::now() - sent).count()));
  for (const pid_t pid : before) EXPECT_TRUE(is_dead(pid)) << "worker pid " << pid;
  expect_dead(escaped, kMargin, "escaped descendants");
  const std::string expected = kind == Kind::IgnoresSigterm ? "killed by SIGKILL" : "exit 0";
  EXPECT_EQ(service.count(R"("reason":"shutdown","status":")" + expected), static_cast<std::size_t>(kWorkers));
}

INSTANTIATE_TEST_SUITE_P(WorkerKinds, ShutdownAllTest,
                         ::testing::Values(Kind::IgnoresSigterm, Kind::SlowExit, Kind::SetsidChild,
                                           Kind::DaemonChild),
                         [](const auto& param_info) { return std::string(name_of(param_info.param)); });

// ---- Under load: an HTTP worker that never notifies -----------------------------------------

using Mode = LoadGenerator::Mode;

class SilentHttpUnderLoadTest : public WorkerKindsTest, public ::testing::WithParamInterface<Mode> {};

TEST_P(SilentHttpUnderLoadTest, RestartAndUpgradeLoseNoRequest) {
  const WorkerProgram v1{hello_worker_binary(), {"--body", "v1", "--no-notify"}};
  // hello_worker drains keep-alive connections for up to 1 s: a stop timeout above that.
  start_service(v1, "auto",
                                {"--listen", "127.0.0.1:0", "--stop-timeout-ms", "5000", "--silent"});
  ASSERT_GT(data_port_, 0);
  LoadGenerator load(GetParam(), "127.0.0.1", data_port_, 4);
  // The drain, and a SIGKILL bound in case a worker does not drain.
  const milliseconds drain = 2000ms;

  const Answer restarted = command("restart all", kWorkers * kGrace + drain + kMargin);
  ASSERT_EQ(restarted.status, 200) << describe(restarted);
  EXPECT_EQ(restarted.result["replaced"].size(), static_cast<std::size_t>(kWorkers));
  expect_ready_before_old_exited(restarted.result["replaced"]);

  WorkerProgram v2 = new_build(v1);
  v2.args = {"--body", "v2", "--no-notify"};
  const Answer upgraded =
      command(upgrade_line("all", v2), kWorkers * kGrace + kMonitor + drain + kMargin);
  ASSERT_EQ(upgraded.status, 200) << describe(upgraded);
  const auto upgrade_done = Clock::now();
  expect_ready_before_old_exited(upgraded.result["replaced"]);
  // Keep the load on the upgraded service for a moment.
  ASSERT_TRUE(wait_until([&] {
    const auto samples = load.samples();
    return std::count_if(samples.begin(), samples.end(), [&](const auto& s) {
             return s.sent > upgrade_done;
           }) >= 20;
  }, kMargin)) << "no request after the upgrade";
  load.stop();

  for (const auto& sample : load.samples()) {
    EXPECT_TRUE(sample.ok) << sample.body;
    if (sample.sent > upgrade_done) {
      EXPECT_TRUE(sample.body.starts_with("v2 from pid ")) << "after the upgrade: " << sample.body;
    }
  }
  EXPECT_EQ(load.failures(), 0u);
  std::printf("requests: %zu ok, %zu failed\n", load.successes(), load.failures());
  stop_service();
}

INSTANTIATE_TEST_SUITE_P(WorkerKinds, SilentHttpUnderLoadTest,
                         ::testing::Values(Mode::NewConnection, Mode::KeepAlive),
                         [](const auto& param_info) { return LoadGenerator::name_of(param_info.param); });

// ---- Workers that flood stdout while nobody reads the master's ------------------------------

TEST_F(WorkerKindsTest, FloodingWorkersWithAnUnreadStdoutStillRestartAndStopInTime) {
  service_ = &start({"--workers", std::to_string(kWorkers), "--ready-grace-ms",
                     std::to_string(kGrace.count()), "--stop-timeout-ms",
                     std::to_string(kStopTimeout.count()), "--access-key", kKey, "--host",
                     "127.0.0.1", "--port", "0", test_worker_binary(), "--", "--flood", "0"},
                    {}, {}, ServiceProcess::Stdin::Null, ServiceProcess::Output::HeldStdout);
  port_ = service_->api_port();
  // Full: more than half its capacity and no longer growing (pages may run out first).
  std::size_t held_seen = 0;
  auto held_changed = Clock::now();
  ASSERT_TRUE(wait_until(
      [&] {
        const std::size_t held = service_->held_bytes();
        if (held != held_seen) {
          held_seen = held;
          held_changed = Clock::now();
        }
        return held > service_->held_capacity() / 2 && Clock::now() - held_changed > 300ms;
      },
      10s))
      << "the master's stdout never filled: " << service_->held_bytes() << " bytes";
  ASSERT_TRUE(all_ready(kGrace + kMargin)) << "silent flooding workers not ready";
  const auto old = worker_pids();

  // Each replacement is ready after the grace period; the old ones die of the stop signal.
  const Answer restarted = command("restart all", kWorkers * (kGrace + kStopTimeout) + kMargin);
  ASSERT_EQ(restarted.status, 200) << describe(restarted);
  expect_dead(old, kMargin, "the replaced workers");
  const auto fresh = worker_pids();
  ASSERT_EQ(fresh.size(), static_cast<std::size_t>(kWorkers));
  const Answer stopped = command("shutdown " + std::to_string(fresh[0]), kStopTimeout + kMargin);
  ASSERT_EQ(stopped.status, 200) << describe(stopped);
  EXPECT_GT(service_->held_bytes(), 0u) << "the output was read meanwhile";

  service_->release_output();
  stop_service();
}

// ---- Descendants that resist: chains of sessions, ignoring the stop signal, forking on it ----

// Each worker leaves a chain of three descendants, each in a session of its own; each ignores
// the stop signal and answers it by starting one more. The whole tree must be gone by the
// deadline of the stop that ended its worker, not one stop timeout per generation.
constexpr const char* kResistingChain = R"(#!/usr/bin/env python3
import os, signal, time

def settle():
    os.write(1, f"chain pid {os.getpid()}\n".encode())  # one write: whole lines
    while True:
        time.sleep(1)

def one_more(signum, frame):
    if os.fork() == 0:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        settle()

def node(depth):
    if os.fork() == 0:
        os.setsid()
        signal.signal(signal.SIGTERM, one_more)
        if depth > 1:
            node(depth - 1)
        settle()

node(3)
while True:
    time.sleep(1)
)";

class ResistingDescendantsTest : public WorkerKindsTest {
 protected:
  std::vector<pid_t> chain_pids() const {
    const std::regex re(R"(: chain pid (\d+)$)");
    std::vector<pid_t> pids;
    for (const auto& line : service_->lines()) {
      std::smatch m;
      if (std::regex_search(line, m, re)) pids.push_back(std::stoi(m[1].str()));
    }
    return pids;
  }
  void start_chains() {
    start_service(WorkerProgram{write_file("chain.py", kResistingChain, true), {}}, "auto");
    ASSERT_TRUE(service_->wait_for_count(": chain pid", 3 * kWorkers, 10s, "every chain"));
  }
};

TEST_F(ResistingDescendantsTest, ShutdownAllEndsTheWholeTreeByItsDeadline) {
  start_chains();
  const auto sent = Clock::now();
  const Answer answer = command(R"(shutdown all {"timeout": 700})");
  ASSERT_EQ(answer.status, 200) << describe(answer);
  // The chains resist the stop signal: killed at the deadline, so not a clean stop.
  ASSERT_EQ(service_->wait_exit(700ms + kMargin), 1) << "the service did not exit in time";
  EXPECT_LT(Clock::now() - sent, 700ms + kMargin);
  expect_dead(chain_pids(), kMargin, "descendants (and the ones they started when signalled)");
}

TEST_F(ResistingDescendantsTest, RestartAllEndsTheOldWorkersTreesWithinTheStopTimeout) {
  start_chains();
  const auto before = chain_pids();
  const Answer answer = command("restart all", kWorkers * (kGrace + kStopTimeout) + kMargin);
  ASSERT_EQ(answer.status, 200) << describe(answer);
  // Each old worker exits at its stop signal; what it left gets what was left of its stop
  // timeout, then SIGKILL with everything below it.
  expect_dead(before, kStopTimeout + kMargin, "the old workers' descendants");
  stop_service();
}


TEST_F(WorkerKindsTest, StartOfAProgramThatCannotRunIsRefusedAndChangesNothing) {
  start_service(program_of(Kind::Silent), "auto");
  const auto before = worker_pids();
  for (const std::string& line : std::vector<std::string>{
           R"(start /nonexistent/server {"count": 1})",
        "start " + temp_dir() + R"( {"count": 1})",  // a directory
        "start " + program_of(Kind::Silent).path + R"( {"count": 1, "cwd": "/nonexistent"})"}) {
    const Answer answer = command(line);
    EXPECT_EQ(answer.status, 400) << line << ": " << describe(answer);
  }
  EXPECT_EQ(worker_pids(), before) << "the fleet changed";
  EXPECT_EQ(health().value("health", ""), "ok");
  stop_service();
}

}  // namespace
}  // namespace cservice::testing
