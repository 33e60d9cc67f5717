#include "supervisor/supervisor.hpp"

#include "base/log.hpp"
#include "fake_timer.hpp"

#include <gtest/gtest.h>

namespace cservice::supervisor {
namespace {

using namespace std::chrono_literals;

class RecordingSpawner final : public Spawner {
 public:
  Result<Pid> start(WorkerId id, const ProgramSpec& spec) override {
    if (fail_programs_.contains(spec.program)) {
      return make_error(errc::not_found, "spawn " + spec.program + ": No such file or directory");
    }
    const Pid pid{next_pid_++};
    started.push_back({id, pid, spec.program});
    return pid;
  }
  void stop(WorkerId, Pid pid, StopMode mode) override { stopped.push_back({pid, mode}); }

  struct Started {
    WorkerId id;
    Pid pid;
    std::string program;
  };
  struct Stopped {
    Pid pid;
    StopMode mode;
  };
  std::vector<Started> started;
  std::vector<Stopped> stopped;
  std::set<std::string> fail_programs_;

 private:
  pid_t next_pid_ = 100;
};

TEST(RolloutPlanTest, BatchIsOnePlusFloorOfNTimesRatio) {
  EXPECT_EQ(rollout_batch_size(0, 0.33), 0u);
  EXPECT_EQ(rollout_batch_size(1, 0.33), 1u);
  EXPECT_EQ(rollout_batch_size(3, 0.33), 1u);
  EXPECT_EQ(rollout_batch_size(4, 0.33), 2u);
  EXPECT_EQ(rollout_batch_size(10, 0.33), 4u);
  EXPECT_EQ(rollout_batch_size(8, 0.0), 1u);
  EXPECT_EQ(rollout_batch_size(8, 1.0), 8u);   // never more than n
  EXPECT_EQ(rollout_batch_size(8, -1.0), 1u);
}

class RolloutTest : public ::testing::Test {
 protected:
  RolloutTest() {
    log::set_sink([](log::Level, std::string_view) {});
    Policy policy;
    policy.worker_count = 4;
    policy.ready_mode = ReadyMode::Notify;
    policy.restart_concurrency_ratio = 0.33;  // batches of 2
    supervisor_.emplace(policy, ProgramSpec{"/srv/v1", {}, {}}, spawner_, clock_, events_);
    timer_.attach(*supervisor_);
    supervisor_->start();
    for (const auto& s : spawner_.started) supervisor_->on_ready(s.pid);
  }
  ~RolloutTest() override { log::reset_sink(); }

  void advance(Duration d) {
    timer_.advance(clock_, *supervisor_, d);
  }
  std::vector<Pid> live_pids() const {
    std::vector<Pid> pids;
    for (const auto& w : supervisor_->workers()) {
      if (w.pid) pids.push_back(*w.pid);
    }
    return pids;
  }
  Completion capture() {
    return [this](Result<nlohmann::json> result) { result_ = std::move(result); };
  }
  bool stopped(Pid pid) const {
    return std::any_of(spawner_.stopped.begin(), spawner_.stopped.end(),
                       [pid](const auto& s) { return s.pid == pid; });
  }

  FakeClock clock_;
  FakeTimer timer_;
  RecordingSpawner spawner_;
  EventBus events_;
  std::optional<Supervisor> supervisor_;
  std::optional<Result<nlohmann::json>> result_;
};

TEST_F(RolloutTest, RestartReplacesInBatchesAndStopsOldOnlyWhenNewIsReady) {
  const auto old = live_pids();
  ASSERT_TRUE(supervisor_->begin_rollout({Reason::Restart, {}, {}, {}, {}, "restart all"}, capture()));
  ASSERT_EQ(spawner_.started.size(), 4u + 2u);  // the first batch of 2, beside the old ones
  EXPECT_TRUE(spawner_.stopped.empty()) << "an old worker stopped before its replacement was ready";
  supervisor_->on_ready(spawner_.started[4].pid);
  EXPECT_TRUE(stopped(old[0]));
  EXPECT_FALSE(stopped(old[1]));
  EXPECT_EQ(spawner_.started.size(), 7u);  // the batch refills as each replacement takes over
  supervisor_->on_ready(spawner_.started[5].pid);
  supervisor_->on_ready(spawner_.started[6].pid);
  supervisor_->on_ready(spawner_.started[7].pid);
  for (const Pid pid : old) EXPECT_TRUE(stopped(pid));
  EXPECT_FALSE(result_.has_value()) << "done before the old workers exited";
  for (const Pid pid : old) supervisor_->on_exited(pid, ExitStatus::exited(0));
  ASSERT_TRUE(result_.has_value());
  ASSERT_TRUE(*result_) << result_->error().message;
  EXPECT_EQ((**result_)["replaced"].size(), 4u);
  EXPECT_EQ(supervisor_->health().state, HealthState::Ok);
  EXPECT_EQ(live_pids().size(), 4u);
}

TEST_F(RolloutTest, SecondRolloutIsBusyNamingTheFirst) {
  ASSERT_TRUE(supervisor_->begin_rollout({Reason::Restart, {}, {}, {}, {}, "restart all"}, capture()));
  auto second = supervisor_->begin_rollout({Reason::Restart, {}, {}, {}, {}, "restart all"}, capture());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message, "busy: 'restart all' is running");
}

TEST_F(RolloutTest, UpgradeWatchesTheFirstWorkerThenMakesTheProgramCurrent) {
  ASSERT_TRUE(supervisor_->begin_rollout(
      {Reason::Upgrade, {}, ProgramSpec{"/srv/v2", {}, {}}, {}, 1000ms, "upgrade all /srv/v2"},
      capture()));
  ASSERT_EQ(spawner_.started.size(), 5u);  // one canary only
  EXPECT_EQ(spawner_.started[4].program, "/srv/v2");
  supervisor_->on_ready(spawner_.started[4].pid);
  EXPECT_TRUE(spawner_.stopped.empty()) << "the old worker must serve while the canary is on trial";
  advance(999ms);
  EXPECT_EQ(spawner_.started.size(), 5u);
  advance(1ms);  // the trial is over
  EXPECT_EQ(spawner_.stopped.size(), 1u);
  ASSERT_EQ(spawner_.started.size(), 7u);  // then batches of 2
  supervisor_->on_ready(spawner_.started[5].pid);
  supervisor_->on_ready(spawner_.started[6].pid);
  ASSERT_EQ(spawner_.started.size(), 8u);
  supervisor_->on_ready(spawner_.started[7].pid);
  for (std::size_t i = 0; i < 4; ++i) supervisor_->on_exited(spawner_.started[i].pid, ExitStatus::exited(0));
  ASSERT_TRUE(result_.has_value());
  ASSERT_TRUE(*result_) << result_->error().message;
  EXPECT_EQ(supervisor_->program().program, "/srv/v2");
  // A later restart uses the new program.
  const Pid victim = live_pids()[0];
  supervisor_->on_exited(victim, ExitStatus::killed(9));
  advance(100ms);
  EXPECT_EQ(spawner_.started.back().program, "/srv/v2");
}

TEST_F(RolloutTest, UpgradeWhoseFirstWorkerDiesIsCancelledAndOldOnesKeepServing) {
  const auto old = live_pids();
  ASSERT_TRUE(supervisor_->begin_rollout(
      {Reason::Upgrade, {}, ProgramSpec{"/srv/broken", {}, {}}, {}, 1000ms, "upgrade all /srv/broken"},
      capture()));
  const Pid canary = spawner_.started.back().pid;
  supervisor_->on_exited(canary, ExitStatus::exited(1));
  ASSERT_TRUE(result_.has_value());
  ASSERT_FALSE(*result_);
  EXPECT_NE(result_->error().message.find("exited (exit 1) before it was ready"), std::string::npos)
      << result_->error().message;
  EXPECT_EQ(live_pids(), old);
  EXPECT_TRUE(spawner_.stopped.empty());
  EXPECT_EQ(supervisor_->program().program, "/srv/v1");
  // And the next operation may run.
  EXPECT_TRUE(supervisor_->begin_rollout({Reason::Restart, {}, {}, {}, {}, "restart all"}, capture()));
}

TEST_F(RolloutTest, UpgradeWhoseFirstWorkerDiesOnTrialIsCancelled) {
  const auto old = live_pids();
  ASSERT_TRUE(supervisor_->begin_rollout(
      {Reason::Upgrade, {}, ProgramSpec{"/srv/flaky", {}, {}}, {}, 1000ms, "upgrade all"}, capture()));
  const Pid canary = spawner_.started.back().pid;
  supervisor_->on_ready(canary);
  advance(500ms);
  supervisor_->on_exited(canary, ExitStatus::killed(11));
  ASSERT_TRUE(result_.has_value());
  ASSERT_FALSE(*result_);
  EXPECT_NE(result_->error().message.find("while on trial"), std::string::npos);
  EXPECT_EQ(live_pids(), old);
}

TEST_F(RolloutTest, UpgradeToAMissingProgramFailsAtOnce) {
  spawner_.fail_programs_.insert("/srv/none");
  ASSERT_TRUE(supervisor_->begin_rollout(
      {Reason::Upgrade, {}, ProgramSpec{"/srv/none", {}, {}}, {}, {}, "upgrade all"}, capture()));
  ASSERT_TRUE(result_.has_value());
  EXPECT_FALSE(*result_);
}

TEST_F(RolloutTest, ReplacementNotReadyInTimeCancels) {
  ASSERT_TRUE(supervisor_->begin_rollout({Reason::Restart, {}, {}, {}, {}, "restart all"}, capture()));
  advance(30s);  // the default ready timeout
  ASSERT_TRUE(result_.has_value());
  ASSERT_FALSE(*result_);
  EXPECT_NE(result_->error().message.find("was not ready after 30000 ms"), std::string::npos);
  EXPECT_EQ(spawner_.stopped.size(), 2u);  // the two replacements, not the old workers
}

TEST_F(RolloutTest, RestartOfOneWorkerByPid) {
  const auto old = live_pids();
  ASSERT_TRUE(supervisor_->begin_rollout({Reason::Restart, old[2], {}, {}, {}, "restart"}, capture()));
  ASSERT_EQ(spawner_.started.size(), 5u);
  EXPECT_EQ(spawner_.started[4].id, WorkerId{3});
  supervisor_->on_ready(spawner_.started[4].pid);
  EXPECT_TRUE(stopped(old[2]));
  supervisor_->on_exited(old[2], ExitStatus::exited(0));
  ASSERT_TRUE(result_.has_value() && *result_);
  EXPECT_EQ(spawner_.stopped.size(), 1u);
  auto unknown = supervisor_->begin_rollout({Reason::Restart, Pid{9}, {}, {}, {}, "restart"}, capture());
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "no worker has pid 9");
}

TEST_F(RolloutTest, UnrelatedFailureDuringRolloutIsStillRestarted) {
  const auto old = live_pids();
  ASSERT_TRUE(supervisor_->begin_rollout({Reason::Restart, {}, {}, {}, {}, "restart all"}, capture()));
  supervisor_->on_exited(old[3], ExitStatus::killed(9));  // worker 4, not yet being replaced
  advance(100ms);
  EXPECT_EQ(spawner_.started.back().id, WorkerId{4});
}

TEST_F(RolloutTest, ShutdownCancelsTheRolloutAndStopsEverything) {
  ASSERT_TRUE(supervisor_->begin_rollout({Reason::Restart, {}, {}, {}, {}, "restart all"}, capture()));
  supervisor_->shutdown(StopMode::Graceful);
  ASSERT_TRUE(result_.has_value());
  EXPECT_FALSE(*result_);
  EXPECT_EQ(spawner_.stopped.size(), 6u);  // 4 workers and 2 replacements
  for (const auto& s : spawner_.started) supervisor_->on_exited(s.pid, ExitStatus::exited(0));
  EXPECT_TRUE(supervisor_->is_finished());
}

TEST_F(RolloutTest, StopWorkerAnswersWhenItHasExitedAndDoesNotRestartIt) {
  const Pid pid = live_pids()[1];
  ASSERT_TRUE(supervisor_->stop_worker(pid, std::nullopt, capture()));
  EXPECT_FALSE(result_.has_value());
  supervisor_->on_exited(pid, ExitStatus::exited(0));
  ASSERT_TRUE(result_.has_value() && *result_);
  advance(1s);
  EXPECT_EQ(spawner_.started.size(), 4u);
  EXPECT_EQ(supervisor_->workers()[1].state, WorkerState::Exited);
  // start resumes it.
  auto started = supervisor_->start_workers(0, std::nullopt);
  ASSERT_TRUE(started);
  EXPECT_EQ(started->size(), 1u);
  EXPECT_EQ(spawner_.started.back().id, WorkerId{2});
}

TEST_F(RolloutTest, StartAddsSlots) {
  auto started = supervisor_->start_workers(2, ProgramSpec{"/srv/other", {}, {}});
  ASSERT_TRUE(started);
  EXPECT_EQ(started->size(), 2u);
  EXPECT_EQ(supervisor_->workers().size(), 6u);
  EXPECT_EQ(spawner_.started.back().program, "/srv/other");
  EXPECT_EQ(spawner_.started.back().id, WorkerId{6});
}


// Upgrades whose new program fails after the canary: the replaced workers go back.
class RollbackTest : public RolloutTest {
 protected:
  // Starts `upgrade all /srv/v2`, lets the canary pass its trial and its batch-mates become
  // ready (then worker 4's starts); returns the pids of the first three replacements (workers
  // 1, 2 and 3).
  std::vector<Pid> upgrade_past_the_canary() {
    EXPECT_TRUE(supervisor_->begin_rollout(
        {Reason::Upgrade, {}, ProgramSpec{"/srv/v2", {}, {}}, {}, 100ms, "upgrade all /srv/v2"},
        capture()));
    supervisor_->on_ready(spawner_.started[4].pid);
    advance(100ms);  // the trial is over: workers 2 and 3 start
    EXPECT_EQ(spawner_.started.size(), 7u);
    supervisor_->on_ready(spawner_.started[5].pid);
    EXPECT_EQ(spawner_.started.size(), 8u);
    return {spawner_.started[4].pid, spawner_.started[5].pid, spawner_.started[6].pid};
  }
  std::size_t running(const std::string& program) const {
    std::size_t n = 0;
    for (const auto& w : supervisor_->workers()) n += w.spec->program == program ? 1 : 0;
    return n;
  }
};

TEST_F(RollbackTest, AReplacementThatFailsAfterTheCanaryRollsTheReplacedWorkersBack) {
  const auto old = live_pids();
  const auto fresh = upgrade_past_the_canary();
  supervisor_->on_exited(fresh[2], ExitStatus::exited(1));  // worker 3's new process fails
  // Worker 4's replacement is stopped; workers 1 and 2 (on v2) are replaced again by v1, one
  // at a time (a batch of two slots is 1), each ready before its v2 process is stopped.
  EXPECT_TRUE(stopped(spawner_.started[7].pid));
  ASSERT_EQ(spawner_.started.size(), 9u);
  EXPECT_EQ(spawner_.started[8].program, "/srv/v1");
  EXPECT_FALSE(stopped(fresh[0])) << "a v2 worker stopped before its v1 replacement was ready";
  supervisor_->on_ready(spawner_.started[8].pid);
  ASSERT_EQ(spawner_.started.size(), 10u);
  EXPECT_EQ(spawner_.started[9].program, "/srv/v1");
  supervisor_->on_ready(spawner_.started[9].pid);
  EXPECT_TRUE(stopped(fresh[0]));
  EXPECT_TRUE(stopped(fresh[1]));
  for (const Pid pid : {old[0], old[1], fresh[0], fresh[1]}) {
    EXPECT_FALSE(result_.has_value()) << "answered before every replaced process exited";
    supervisor_->on_exited(pid, ExitStatus::exited(0));
  }
  ASSERT_TRUE(result_.has_value());
  ASSERT_FALSE(*result_);
  const std::string& message = result_->error().message;
  EXPECT_NE(message.find("exited (exit 1) before it was ready"), std::string::npos) << message;
  EXPECT_NE(message.find("rolled back 2 worker(s)"), std::string::npos) << message;
  EXPECT_EQ(running("/srv/v1"), 4u);
  EXPECT_EQ(supervisor_->program().program, "/srv/v1");
  EXPECT_EQ(supervisor_->health().state, HealthState::Ok) << supervisor_->health().reason;
  EXPECT_EQ(live_pids()[2], old[2]);
  EXPECT_EQ(live_pids()[3], old[3]);
}

TEST_F(RollbackTest, AReplacedWorkerOfTheNewProgramThatExitsRollsBackToo) {
  const auto fresh = upgrade_past_the_canary();
  supervisor_->on_exited(fresh[0], ExitStatus::killed(11));  // v2 on worker 1 crashes later
  // Worker 1 restarts on v1 after the restart delay; worker 2 is replaced ready-before-stop.
  advance(100ms);
  EXPECT_EQ(supervisor_->workers()[0].spec->program, "/srv/v1");
  EXPECT_EQ(spawner_.started.back().program, "/srv/v1");
  EXPECT_EQ(running("/srv/v2"), 1u);  // worker 2, until its v1 replacement is ready
  for (std::size_t i = 8; i < spawner_.started.size(); ++i) {
    supervisor_->on_ready(spawner_.started[i].pid);
  }
  EXPECT_EQ(running("/srv/v1"), 4u);
}

TEST_F(RollbackTest, AFailedRollbackIsReportedAndTheServiceKeepsServing) {
  const auto fresh = upgrade_past_the_canary();
  spawner_.fail_programs_.insert("/srv/v1");  // the old program is gone meanwhile
  supervisor_->on_exited(fresh[2], ExitStatus::exited(1));
  ASSERT_TRUE(result_.has_value());
  ASSERT_FALSE(*result_);
  EXPECT_NE(result_->error().message.find("ROLLBACK FAILED"), std::string::npos)
      << result_->error().message;
  EXPECT_EQ(supervisor_->workers()[0].pid, fresh[0]);  // still serving, on v2
  EXPECT_EQ(supervisor_->health().state, HealthState::Mixed);
  EXPECT_TRUE(supervisor_->begin_rollout({Reason::Restart, {}, {}, {}, {}, "restart all"}, capture()));
}

TEST_F(RollbackTest, ARestartThatFailsHasNothingToPutBack) {
  ASSERT_TRUE(supervisor_->begin_rollout({Reason::Restart, {}, {}, {}, {}, "restart all"}, capture()));
  supervisor_->on_ready(spawner_.started[4].pid);
  supervisor_->on_exited(spawner_.started[5].pid, ExitStatus::exited(1));
  ASSERT_TRUE(result_.has_value());
  ASSERT_FALSE(*result_);
  EXPECT_EQ(result_->error().message.find("rolled back"), std::string::npos);
  EXPECT_EQ(spawner_.started.size(), 7u);  // nothing started after the failure
}

TEST_F(RollbackTest, UpgradingOneWorkerLeavesAMixedFleetThatHealthReports) {
  const Pid target = live_pids()[1];
  ASSERT_TRUE(supervisor_->begin_rollout(
      {Reason::Upgrade, target, ProgramSpec{"/srv/v2", {}, {}}, {}, 0ms, "upgrade"}, capture()));
  supervisor_->on_ready(spawner_.started.back().pid);
  advance(0ms);
  supervisor_->on_exited(target, ExitStatus::exited(0));
  ASSERT_TRUE(result_.has_value() && *result_);
  EXPECT_EQ(supervisor_->program().program, "/srv/v1");
  EXPECT_EQ(supervisor_->health().state, HealthState::Mixed);
}

// Deadlines set by requests (not by process events) fire: the runtime's timer is armed only
// through the on_schedule hook, as FakeTimer is.
TEST_F(RolloutTest, AStopRequestedByACommandKillsAtItsTimeout) {
  const Pid pid = live_pids()[0];
  ASSERT_TRUE(supervisor_->stop_worker(pid, 700ms, capture()));
  advance(699ms);
  EXPECT_EQ(spawner_.stopped.size(), 1u);
  advance(1ms);
  ASSERT_EQ(spawner_.stopped.size(), 2u);
  EXPECT_EQ(spawner_.stopped[1].mode, StopMode::Kill);
}

TEST_F(RolloutTest, ShutdownWithATimeoutKillsThen) {
  supervisor_->shutdown(StopMode::Graceful, 1000ms);
  advance(1000ms);
  EXPECT_EQ(spawner_.stopped.size(), 8u);  // four stop signals, then four SIGKILLs
  EXPECT_EQ(spawner_.stopped.back().mode, StopMode::Kill);
}

TEST_F(RolloutTest, AnAdoptedOrphanIsStoppedAndTheShutdownWaitsForIt) {
  supervisor_->adopt_orphan(Pid{7}, Pid{100});
  ASSERT_TRUE(stopped(Pid{7}));
  EXPECT_FALSE(supervisor_->is_worker(Pid{7}));
  supervisor_->shutdown(StopMode::Graceful);
  for (const Pid pid : live_pids()) supervisor_->on_exited(pid, ExitStatus::exited(0));
  EXPECT_FALSE(supervisor_->is_finished());
  advance(10s);  // the stop timeout
  EXPECT_EQ(spawner_.stopped.back().pid, Pid{7});
  EXPECT_EQ(spawner_.stopped.back().mode, StopMode::Kill);
  supervisor_->on_exited(Pid{7}, ExitStatus::killed(9));
  EXPECT_TRUE(supervisor_->is_finished());
}


TEST_F(RolloutTest, RestartAllLeavesAStoppedSlotStopped) {
  const Pid stopped_for_good = live_pids()[1];
  ASSERT_TRUE(supervisor_->stop_worker(stopped_for_good, std::nullopt, capture()));
  supervisor_->on_exited(stopped_for_good, ExitStatus::exited(0));
  result_.reset();
  ASSERT_TRUE(supervisor_->begin_rollout({Reason::Restart, {}, {}, {}, {}, "restart all"}, capture()));
  for (std::size_t i = 4; i < spawner_.started.size(); ++i) {
    EXPECT_NE(spawner_.started[i].id, WorkerId{2}) << "restart all revived a stopped worker";
    supervisor_->on_ready(spawner_.started[i].pid);
  }
  EXPECT_EQ(spawner_.started.size(), 4u + 3u);
  EXPECT_FALSE(supervisor_->workers()[1].pid.has_value());
}

TEST_F(RolloutTest, AnOrphanGetsNoMoreTimeThanItsWorkerHadLeft) {
  const Pid worker = live_pids()[0];
  ASSERT_TRUE(supervisor_->stop_worker(worker, 1000ms, capture()));
  advance(800ms);
  supervisor_->on_exited(worker, ExitStatus::exited(0));
  supervisor_->adopt_orphan(Pid{7}, worker);  // found once the worker was gone
  advance(199ms);
  EXPECT_NE(spawner_.stopped.back().mode, StopMode::Kill);
  advance(1ms);  // the worker's own deadline: the whole tree is due
  EXPECT_EQ(spawner_.stopped.back().pid, Pid{7});
  EXPECT_EQ(spawner_.stopped.back().mode, StopMode::Kill);
}

TEST_F(RolloutTest, AnOrphanAdoptedDuringAShutdownKeepsTheShutdownsDeadline) {
  supervisor_->shutdown(StopMode::Graceful, 700ms);
  advance(500ms);
  for (const Pid pid : live_pids()) supervisor_->on_exited(pid, ExitStatus::exited(0));
  supervisor_->adopt_orphan(Pid{7}, std::nullopt);
  advance(200ms);
  EXPECT_EQ(spawner_.stopped.back().pid, Pid{7});
  EXPECT_EQ(spawner_.stopped.back().mode, StopMode::Kill);
}

TEST_F(RolloutTest, StartingWorkersOfAProgramThatCannotStartAddsNoSlot) {
  spawner_.fail_programs_.insert("/srv/gone");
  auto started = supervisor_->start_workers(2, ProgramSpec{"/srv/gone", {}, {}});
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message.find("No such file"), std::string::npos);
  EXPECT_EQ(supervisor_->workers().size(), 4u);
  EXPECT_EQ(supervisor_->health().state, HealthState::Ok);
}


TEST_F(RolloutTest, AnOrphanOfAWorkerKilledAtItsDeadlineIsKilledAtOnce) {
  const Pid worker = live_pids()[0];
  ASSERT_TRUE(supervisor_->stop_worker(worker, 500ms, capture()));
  advance(500ms);  // it ignored the stop signal: SIGKILL
  supervisor_->on_exited(worker, ExitStatus::killed(9));
  supervisor_->adopt_orphan(Pid{7}, worker);
  advance(0ms);
  EXPECT_EQ(spawner_.stopped.back().pid, Pid{7});
  EXPECT_EQ(spawner_.stopped.back().mode, StopMode::Kill);
}

// The upgrade pipeline: canary, monitor, test gate, batches, bake, and a rollback from any stage.
class PipelineTest : public RolloutTest {
 protected:
  // A test gate the test answers by hand.
  struct FakeGate {
    int runs = 0;
    int stops = 0;
    std::function<void(Result<void>)> done;
    std::optional<Result<void>> at_once;  // answer synchronously, from within the call
  };

  RolloutRequest upgrade(Milliseconds monitor = 100ms) {
    RolloutRequest request{Reason::Upgrade, {}, ProgramSpec{"/srv/v2", {}, {}}, {}, monitor,
                           "upgrade all /srv/v2"};
    request.on_progress = [this](const RolloutProgress& p) {
      const std::string entry =
          fmt::format("{} {}/{}", to_string(p.stage), p.done, p.total);
      if (stages_.empty() || stages_.back() != entry) stages_.push_back(entry);
    };
    return request;
  }
  void gated(RolloutRequest& request) {
    request.test_name = "test /srv/smoke";
    request.test = [this](std::function<void(Result<void>)> done) -> std::function<void()> {
      ++gate_.runs;
      if (gate_.at_once) {
        done(*gate_.at_once);
      } else {
        gate_.done = std::move(done);
      }
      return [this] { ++gate_.stops; };
    };
  }
  // Starts a gated `upgrade all /srv/v2` and brings it to its test stage: the canary ready, its
  // trial over, the gate running. Returns the canary's pid.
  Pid gate_running() {
    auto request = upgrade();
    gated(request);
    EXPECT_TRUE(supervisor_->begin_rollout(std::move(request), capture()));
    const Pid canary = spawner_.started.back().pid;
    supervisor_->on_ready(canary);
    advance(100ms);
    EXPECT_EQ(gate_.runs, 1);
    return canary;
  }
  // Readies every started process not yet answered, from index `from`.
  void ready_from(std::size_t from) {
    for (std::size_t i = from; i < spawner_.started.size(); ++i) {
      supervisor_->on_ready(spawner_.started[i].pid);
    }
  }
  void exit_stopped_old(const std::vector<Pid>& pids) {
    for (const Pid pid : pids) {
      if (stopped(pid) && supervisor_->is_known(pid)) supervisor_->on_exited(pid, ExitStatus::exited(0));
    }
  }
  std::size_t running(const std::string& program) const {
    std::size_t n = 0;
    for (const auto& w : supervisor_->workers()) n += w.spec->program == program ? 1 : 0;
    return n;
  }
  std::string error() const {
    return result_ && !*result_ ? result_->error().message : std::string("(no error)");
  }

  FakeGate gate_;
  std::vector<std::string> stages_;
};

TEST_F(PipelineTest, AGateThatPassesLetsTheRestFollowAndTheBakeEndsIt) {
  const auto old = live_pids();
  auto request = upgrade();
  gated(request);
  request.bake = 5000ms;
  ASSERT_TRUE(supervisor_->begin_rollout(std::move(request), capture()));
  supervisor_->on_ready(spawner_.started[4].pid);  // the canary
  advance(100ms);                                   // its trial: the gate runs while it serves
  ASSERT_EQ(gate_.runs, 1);
  EXPECT_EQ(spawner_.started.size(), 5u) << "workers replaced before the gate passed";
  EXPECT_TRUE(spawner_.stopped.empty()) << "an old worker stopped before the gate passed";
  advance(10s);  // the gate takes its time; nothing moves meanwhile
  EXPECT_EQ(spawner_.started.size(), 5u);
  gate_.done({});
  EXPECT_TRUE(stopped(old[0])) << "the canary took over once the gate passed";
  ready_from(5);
  ready_from(5);
  exit_stopped_old(old);
  EXPECT_EQ(running("/srv/v2"), 4u);
  EXPECT_FALSE(result_.has_value()) << "answered before the bake was over";
  advance(4999ms);
  EXPECT_FALSE(result_.has_value()) << "answered before the bake was over";
  advance(1ms);
  ASSERT_TRUE(result_.has_value());
  ASSERT_TRUE(*result_) << error();
  EXPECT_EQ(supervisor_->program().program, "/srv/v2");
  ASSERT_NE(supervisor_->previous_program(), nullptr);
  EXPECT_EQ(supervisor_->previous_program()->program, "/srv/v1");
  EXPECT_EQ(stages_, (std::vector<std::string>{"canary 0/4", "monitor 0/4", "test 0/4",
                                               "replace 0/4", "replace 1/4", "replace 2/4",
                                               "replace 3/4", "replace 4/4", "bake 4/4"}));
  EXPECT_EQ(gate_.stops, 0);
}

TEST_F(PipelineTest, AGateThatFailsLeavesTheFleetAsItWas) {
  const auto old = live_pids();
  const Pid canary = gate_running();
  gate_.done(make_error(errc::failed,
                        "test /srv/smoke: failed (exit 3) after 20 ms\ntest output:\nGET / -> 502"));
  EXPECT_TRUE(stopped(canary));
  for (const Pid pid : old) EXPECT_FALSE(stopped(pid));
  ASSERT_TRUE(result_.has_value());
  EXPECT_EQ(error(),
            "upgrade all /srv/v2 cancelled at stage test: test /srv/smoke: failed (exit 3) after "
            "20 ms; 0 worker(s) replaced, the others keep running as before\ntest output:\nGET / -> "
            "502");
  EXPECT_EQ(live_pids(), old);
  EXPECT_EQ(supervisor_->program().program, "/srv/v1");
  EXPECT_EQ(supervisor_->previous_program(), nullptr);
}

TEST_F(PipelineTest, AGateThatFailsAtOnceIsAFailureToo) {
  auto request = upgrade();
  gate_.at_once = make_error(errc::failed, "test /srv/smoke: could not start: Permission denied");
  gated(request);
  ASSERT_TRUE(supervisor_->begin_rollout(std::move(request), capture()));
  supervisor_->on_ready(spawner_.started[4].pid);
  advance(100ms);
  ASSERT_TRUE(result_.has_value());
  EXPECT_NE(error().find("at stage test: test /srv/smoke: could not start"), std::string::npos)
      << error();
  EXPECT_TRUE(stopped(spawner_.started[4].pid));
}

TEST_F(PipelineTest, EachStageOfTheCanaryNamesItselfWhenItFails) {
  {
    auto request = upgrade();
    ASSERT_TRUE(supervisor_->begin_rollout(std::move(request), capture()));
    supervisor_->on_exited(spawner_.started.back().pid, ExitStatus::exited(1));
    EXPECT_NE(error().find("cancelled at stage canary: worker 1: the new process"),
              std::string::npos)
        << error();
  }
  {
    result_.reset();
    ASSERT_TRUE(supervisor_->begin_rollout(upgrade(), capture()));
    supervisor_->on_ready(spawner_.started.back().pid);
    supervisor_->on_exited(spawner_.started.back().pid, ExitStatus::killed(11));
    EXPECT_NE(error().find("cancelled at stage monitor:"), std::string::npos) << error();
    EXPECT_NE(error().find("while on trial"), std::string::npos) << error();
  }
  {
    result_.reset();
    supervisor_->on_exited(gate_running(), ExitStatus::killed(6));
    EXPECT_NE(error().find("cancelled at stage test:"), std::string::npos) << error();
    EXPECT_EQ(gate_.stops, 1) << "the gate kept running after the canary died";
    gate_.done({});  // a late verdict is ignored
  }
  EXPECT_EQ(running("/srv/v1"), 4u);
  EXPECT_TRUE(supervisor_->begin_rollout({Reason::Restart, {}, {}, {}, {}, "restart all"}, capture()))
      << "a rollout is still running";
}

TEST_F(PipelineTest, ANewWorkerThatDiesWhileBakingRollsEveryWorkerBack) {
  const auto old = live_pids();
  auto request = upgrade();
  request.bake = 60s;
  ASSERT_TRUE(supervisor_->begin_rollout(std::move(request), capture()));
  supervisor_->on_ready(spawner_.started[4].pid);
  advance(100ms);
  ready_from(5);
  ready_from(5);
  exit_stopped_old(old);
  ASSERT_EQ(running("/srv/v2"), 4u);
  advance(30s);
  const auto fresh = live_pids();
  EXPECT_FALSE(result_.has_value());
  supervisor_->on_exited(fresh[2], ExitStatus::killed(11));  // worker 3 crashes while baking
  EXPECT_EQ(stages_.back(), "rolling-back 1/4");  // worker 3 restarts on v1 by itself
  // Worker 3 restarts on v1; the others are replaced by v1, ready-before-stop.
  advance(100ms);
  for (int round = 0; round < 4; ++round) ready_from(8);
  exit_stopped_old(fresh);
  ASSERT_TRUE(result_.has_value());
  EXPECT_NE(error().find("upgrade all /srv/v2 failed at stage bake: worker 3: the new process"),
            std::string::npos)
      << error();
  EXPECT_NE(error().find("rolled back 4 worker(s) to the previous program"), std::string::npos)
      << error();
  EXPECT_EQ(running("/srv/v1"), 4u);
  EXPECT_EQ(supervisor_->program().program, "/srv/v1");
  EXPECT_EQ(supervisor_->previous_program(), nullptr);
  EXPECT_EQ(supervisor_->health().state, HealthState::Ok) << supervisor_->health().reason;
}

TEST_F(PipelineTest, TheOperatorCancelsAndWhatWasReplacedGoesBack) {
  EXPECT_EQ(supervisor_->cancel_rollout("cancelled by the operator").error().code,
            make_error(errc::not_found, "").code);
  const auto old = live_pids();
  ASSERT_TRUE(supervisor_->begin_rollout(upgrade(), capture()));
  supervisor_->on_ready(spawner_.started[4].pid);
  advance(100ms);
  supervisor_->on_ready(spawner_.started[5].pid);  // workers 1 and 2 on v2, 3 starting
  ASSERT_EQ(running("/srv/v2"), 2u);
  ASSERT_TRUE(supervisor_->cancel_rollout("cancelled by the operator (cancel 7)"));
  EXPECT_EQ(stages_.back(), "rolling-back 0/2");
  auto again = supervisor_->cancel_rollout("cancelled by the operator");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "'upgrade all /srv/v2' is already rolling back");
  for (int round = 0; round < 3; ++round) ready_from(7);
  exit_stopped_old(old);
  exit_stopped_old({spawner_.started[4].pid, spawner_.started[5].pid, spawner_.started[6].pid});
  ASSERT_TRUE(result_.has_value());
  EXPECT_NE(error().find("failed at stage replace: cancelled by the operator (cancel 7); rolled "
                         "back 2 worker(s)"),
            std::string::npos)
      << error();
  EXPECT_EQ(running("/srv/v1"), 4u);
  EXPECT_EQ(stages_.back(), "rolling-back 2/2");
}

TEST_F(PipelineTest, ABatchSizeReplacesThatManyAtATime) {
  auto request = upgrade();
  request.batch = 3;
  ASSERT_TRUE(supervisor_->begin_rollout(std::move(request), capture()));
  supervisor_->on_ready(spawner_.started[4].pid);
  advance(100ms);
  EXPECT_EQ(spawner_.started.size(), 8u) << "the three others start at once after the canary";
  request = upgrade();
  request.batch = 1000;  // more than there are workers: all of them
  EXPECT_EQ(rollout_batch_size(4, 0.33), 2u);
}

TEST_F(PipelineTest, RollbackReturnsToThePreviousProgramAndASecondOneGoesForwardAgain) {
  const auto complete = [this](RolloutRequest request) {
    result_.reset();
    const auto before = live_pids();
    const std::size_t first = spawner_.started.size();
    ASSERT_TRUE(supervisor_->begin_rollout(std::move(request), capture()));
    supervisor_->on_ready(spawner_.started[first].pid);
    advance(100ms);
    for (int round = 0; round < 4; ++round) ready_from(first + 1);
    exit_stopped_old(before);
    ASSERT_TRUE(result_.has_value() && *result_) << error();
  };
  complete(upgrade());
  EXPECT_EQ(running("/srv/v2"), 4u);
  RolloutRequest back{Reason::Rollback, {}, *supervisor_->previous_program(), {}, 100ms,
                      "rollback to /srv/v1"};
  complete(back);
  EXPECT_EQ(running("/srv/v1"), 4u);
  EXPECT_EQ(spawner_.started.back().program, "/srv/v1");
  EXPECT_EQ(supervisor_->program().program, "/srv/v1");
  ASSERT_NE(supervisor_->previous_program(), nullptr);
  EXPECT_EQ(supervisor_->previous_program()->program, "/srv/v2");
}

TEST_F(PipelineTest, AShutdownStopsTheGate) {
  gate_running();
  supervisor_->shutdown(StopMode::Graceful);
  EXPECT_EQ(gate_.stops, 1);
  ASSERT_TRUE(result_.has_value());
  EXPECT_NE(error().find("cancelled at stage test:"), std::string::npos) << error();
  gate_.done({});  // late: ignored
}

TEST_F(PipelineTest, WhenTheOldWorkerDiesTheCanaryOnTrialServesInItsPlace) {
  const auto old = live_pids();
  const Pid canary = gate_running();
  supervisor_->on_exited(old[0], ExitStatus::killed(9));  // worker 1's old process dies
  advance(1s);
  EXPECT_EQ(live_pids()[0], canary) << "the slot stayed empty while the gate ran";
  EXPECT_EQ(spawner_.started.size(), 5u) << "the old program was restarted beside the canary";
  // The gate fails: the canary, now serving in the slot, is rolled back like a replaced worker.
  gate_.done(make_error(errc::failed, "test /srv/smoke: failed (exit 1) after 5 ms; no output"));
  ASSERT_EQ(spawner_.started.size(), 6u);
  EXPECT_EQ(spawner_.started[5].program, "/srv/v1");
  supervisor_->on_ready(spawner_.started[5].pid);
  supervisor_->on_exited(canary, ExitStatus::exited(0));
  ASSERT_TRUE(result_.has_value());
  EXPECT_NE(error().find("failed at stage test: test /srv/smoke: failed (exit 1) after 5 ms; no "
                         "output; rolled back 1 worker(s)"),
            std::string::npos)
      << error();
  EXPECT_EQ(running("/srv/v1"), 4u);
}

TEST_F(PipelineTest, NoWorkerIsStartedWhileARolloutRuns) {
  ASSERT_TRUE(supervisor_->begin_rollout(upgrade(), capture()));
  auto started = supervisor_->start_workers(1, std::nullopt);
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().message, "busy: 'upgrade all /srv/v2' is running");
  EXPECT_EQ(supervisor_->workers().size(), 4u);
}

TEST_F(PipelineTest, WhatACancelledOrAbandonedRolloutSaysOfTheOthers) {
  const auto old = live_pids();
  ASSERT_TRUE(supervisor_->begin_rollout({Reason::Restart, {}, {}, {}, {}, "restart all"}, capture()));
  for (int round = 0; round < 3; ++round) ready_from(4);
  ASSERT_TRUE(supervisor_->cancel_rollout("cancelled by the operator"));
  EXPECT_EQ(error(), "restart all cancelled: cancelled by the operator; all 4 worker(s) had been "
                     "replaced");
  exit_stopped_old(old);
  result_.reset();
  ASSERT_TRUE(supervisor_->begin_rollout(upgrade(), capture()));
  supervisor_->shutdown(StopMode::Graceful);
  EXPECT_EQ(error(), "upgrade all /srv/v2 cancelled at stage canary: the service is shutting down; "
                     "0 worker(s) replaced, the others are stopping with the service");
}

}  // namespace
}  // namespace cservice::supervisor
