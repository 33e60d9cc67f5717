#include "supervisor/supervisor.hpp"

#include "base/log.hpp"
#include "fake_timer.hpp"

#include <fmt/format.h>

#include <gtest/gtest.h>

#include <vector>

namespace cservice::supervisor {
namespace {

using namespace std::chrono_literals;

// Records what the supervisor asked for; pids count up from 100.
class FakeSpawner final : public Spawner {
 public:
  struct Started {
    WorkerId id;
    Pid pid;
  };
  struct Stopped {
    Pid pid;
    StopMode mode;
  };

  Result<Pid> start(WorkerId id, const ProgramSpec& spec) override {
    programs_.push_back(spec.program);
    if (fail_starts_ > 0) {
      --fail_starts_;
      ++failed_starts_;
      return make_error(errc::not_found, "spawn ./gone: No such file or directory");
    }
    const Pid pid{next_pid_++};
    started_.push_back({id, pid});
    return pid;
  }
  void stop(WorkerId, Pid pid, StopMode mode) override { stopped_.push_back({pid, mode}); }

  const std::vector<Started>& started() const { return started_; }
  const std::vector<Stopped>& stopped() const { return stopped_; }
  const std::vector<std::string>& programs() const { return programs_; }
  Pid last_started() const { return started_.back().pid; }
  void fail_next_starts(int n) { fail_starts_ = n; }
  int failed_starts() const { return failed_starts_; }

 private:
  std::vector<Started> started_;
  std::vector<Stopped> stopped_;
  std::vector<std::string> programs_;
  pid_t next_pid_ = 100;
  int fail_starts_ = 0;
  int failed_starts_ = 0;
};

class SupervisorTest : public ::testing::Test {
 protected:
  SupervisorTest() {
    log::set_sink([this](log::Level, std::string_view line) { log_.emplace_back(line); });
    events_.subscribe([this](const Event& e) { events_seen_.push_back(e); });
  }
  ~SupervisorTest() override { log::reset_sink(); }

  Supervisor& make(Policy policy) {
    supervisor_.emplace(policy, ProgramSpec{"/srv/v1", {}, {}}, spawner_, clock_, events_);
    timer_.attach(*supervisor_);
    return *supervisor_;
  }
  Supervisor& start_workers(std::uint32_t n, ReadyMode mode = ReadyMode::Notify) {
    Policy policy;
    policy.worker_count = n;
    policy.ready_mode = mode;
    make(policy).start();
    return *supervisor_;
  }
  // Advances the clock and fires the timer if its deadline has passed, as the runtime does.
  void advance(Duration d) {
    timer_.advance(clock_, *supervisor_, d);
  }
  std::size_t events_named(const std::string& name, const std::string& reason) const {
    std::size_t n = 0;
    for (const auto& e : events_seen_) {
      n += e.name == name && e.data.value("reason", "") == reason ? 1 : 0;
    }
    return n;
  }
  WorkerState state(std::size_t index) const { return supervisor_->workers().at(index).state; }

  FakeClock clock_;
  FakeTimer timer_;
  FakeSpawner spawner_;
  EventBus events_;
  std::vector<Event> events_seen_;
  std::vector<std::string> log_;
  std::optional<Supervisor> supervisor_;
};

TEST_F(SupervisorTest, StartsEveryWorkerWithReasonStart) {
  start_workers(3);
  ASSERT_EQ(spawner_.started().size(), 3u);
  EXPECT_EQ(spawner_.started()[2].id, WorkerId{3});
  EXPECT_EQ(events_named("workerStart", "start"), 3u);
  EXPECT_EQ(state(0), WorkerState::Starting);
  EXPECT_EQ(supervisor_->health().state, HealthState::Degraded);
}

TEST_F(SupervisorTest, ReadyMessageMakesWorkerReadyAndHealthOk) {
  start_workers(2);
  supervisor_->on_ready(spawner_.started()[0].pid);
  supervisor_->on_ready(spawner_.started()[1].pid);
  EXPECT_EQ(state(0), WorkerState::Ready);
  EXPECT_EQ(state(1), WorkerState::Ready);
  EXPECT_EQ(supervisor_->health().state, HealthState::Ok);
}

TEST_F(SupervisorTest, StartedModeIsReadyAtOnce) {
  start_workers(1, ReadyMode::Started);
  EXPECT_EQ(state(0), WorkerState::Ready);
}

TEST_F(SupervisorTest, AutoModeSilentWorkerIsReadyAfterGrace) {
  start_workers(1, ReadyMode::Auto);
  advance(499ms);
  EXPECT_EQ(state(0), WorkerState::Starting);
  advance(1ms);
  EXPECT_EQ(state(0), WorkerState::Ready);
}

TEST_F(SupervisorTest, AutoModeWorkerThatSpeaksIsHeldUntilReady) {
  start_workers(1, ReadyMode::Auto);
  supervisor_->on_not_ready(spawner_.last_started());
  advance(5s);
  EXPECT_EQ(state(0), WorkerState::Starting);
  supervisor_->on_ready(spawner_.last_started());
  EXPECT_EQ(state(0), WorkerState::Ready);
}

TEST_F(SupervisorTest, StatusIsRecordedAndHoldsAutoWorker) {
  start_workers(1, ReadyMode::Auto);
  supervisor_->on_status(spawner_.last_started(), "warming cache");
  advance(1s);
  EXPECT_EQ(state(0), WorkerState::Starting);
  EXPECT_EQ(supervisor_->workers()[0].status, "warming cache");
}

TEST_F(SupervisorTest, UnexpectedExitRestartsAfterRestartDelay) {
  start_workers(1);
  const Pid first = spawner_.last_started();
  supervisor_->on_ready(first);
  supervisor_->on_exited(first, ExitStatus::killed(9));
  EXPECT_EQ(events_named("workerExit", "failure"), 1u);
  advance(99ms);
  EXPECT_EQ(spawner_.started().size(), 1u);  // not before restartDelayMs
  advance(1ms);
  ASSERT_EQ(spawner_.started().size(), 2u);
  EXPECT_EQ(spawner_.started()[1].id, WorkerId{1});  // same slot, new process
  EXPECT_EQ(events_named("workerStart", "restart"), 1u);
  EXPECT_EQ(supervisor_->workers()[0].restarts, 1u);
}

TEST_F(SupervisorTest, CrashLoopStopsRestartsAndReportsIt) {
  start_workers(2);  // Given a service whose second worker keeps dying at once,
  supervisor_->on_ready(spawner_.started()[0].pid);
  for (int i = 0; i < 11; ++i) {
    supervisor_->on_exited(spawner_.last_started(), ExitStatus::exited(1));
    advance(100ms);
  }
  EXPECT_EQ(spawner_.started().size(), 2u + 10u);  // the 11th restart in a minute is refused,
  EXPECT_EQ(supervisor_->health().state, HealthState::CrashLoop);  // and health says why.
  EXPECT_NE(supervisor_->health().reason.find("worker 2"), std::string::npos);
  EXPECT_TRUE(supervisor_->workers()[1].crash_loop);
  EXPECT_FALSE(supervisor_->next_deadline().has_value());  // nothing left to wake for
}

TEST_F(SupervisorTest, RestartsOlderThanAMinuteNoLongerCount) {
  Policy policy;
  policy.restarts_per_minute = 3;
  policy.ready_mode = ReadyMode::Notify;
  make(policy).start();
  for (int i = 0; i < 3; ++i) {
    supervisor_->on_exited(spawner_.last_started(), ExitStatus::exited(1));
    advance(100ms);
  }
  ASSERT_EQ(spawner_.started().size(), 4u);
  advance(60s);  // the three restarts leave the sliding minute
  supervisor_->on_exited(spawner_.last_started(), ExitStatus::exited(1));
  advance(100ms);
  EXPECT_EQ(spawner_.started().size(), 5u);
  EXPECT_NE(supervisor_->health().state, HealthState::CrashLoop);
}

TEST_F(SupervisorTest, NoRestartWhenRestartOnFailureIsOff) {
  Policy policy;
  policy.restart_on_failure = false;
  make(policy).start();
  supervisor_->on_exited(spawner_.last_started(), ExitStatus::exited(1));
  advance(1s);
  EXPECT_EQ(spawner_.started().size(), 1u);
  EXPECT_EQ(state(0), WorkerState::Exited);
}

TEST_F(SupervisorTest, MissedReadyDeadlineStopsWorkerAndCountsAsFailure) {
  Policy policy;
  policy.ready_mode = ReadyMode::Notify;
  policy.ready_timeout = 2s;
  make(policy).start();
  const Pid pid = spawner_.last_started();
  advance(2s);
  ASSERT_EQ(spawner_.stopped().size(), 1u);
  EXPECT_EQ(spawner_.stopped()[0].mode, StopMode::Graceful);
  EXPECT_EQ(state(0), WorkerState::Stopping);
  supervisor_->on_exited(pid, ExitStatus::killed(15));
  EXPECT_EQ(events_named("workerExit", "failure"), 1u);
  advance(100ms);
  EXPECT_EQ(spawner_.started().size(), 2u);
}

// `start PROGRAM CWD TIMEOUT` waits for its workers: answered when ready, or when not in time.
TEST_F(SupervisorTest, WhenReadyAnswersOnReadyOrWhenTheShorterDeadlinePasses) {
  Policy policy;
  policy.worker_count = 2;
  policy.ready_mode = ReadyMode::Notify;
  policy.ready_timeout = 10s;
  make(policy).start();
  const Pid first = spawner_.started()[0].pid;
  const Pid second = spawner_.started()[1].pid;
  std::vector<Result<nlohmann::json>> answers;
  const auto record = [&](Result<nlohmann::json> r) { answers.push_back(std::move(r)); };
  ASSERT_TRUE(supervisor_->when_ready(first, std::nullopt, record));
  ASSERT_TRUE(supervisor_->when_ready(second, 1s, record));
  advance(300ms);
  supervisor_->on_ready(first);
  ASSERT_EQ(answers.size(), 1u);
  ASSERT_TRUE(answers[0]);
  EXPECT_EQ(answers[0]->at("pid"), to_int(first));
  EXPECT_EQ(answers[0]->at("readyMs"), 300);
  advance(700ms);  // the second's own deadline, long before readyTimeoutMs
  ASSERT_EQ(answers.size(), 2u);
  ASSERT_FALSE(answers[1]);
  EXPECT_EQ(answers[1].error().code, make_error_code(errc::timed_out));
  EXPECT_EQ(answers[1].error().message,
            fmt::format("worker 2 pid {} was not ready after 1000 ms; stopped", to_int(second)));
  EXPECT_EQ(state(1), WorkerState::Stopping);
  // A ready worker is answered at once; one that is gone is not found.
  ASSERT_TRUE(supervisor_->when_ready(first, 1s, record));
  EXPECT_TRUE(answers.at(2));
  EXPECT_FALSE(supervisor_->when_ready(Pid{999999}, 1s, record));
}

TEST_F(SupervisorTest, WhenReadyIsAnsweredIfTheWorkerExitsFirst) {
  start_workers(1);
  const Pid pid = spawner_.last_started();
  std::optional<Result<nlohmann::json>> answer;
  ASSERT_TRUE(supervisor_->when_ready(pid, 5s, [&](Result<nlohmann::json> r) { answer = r; }));
  supervisor_->on_exited(pid, ExitStatus::exited(3));
  ASSERT_TRUE(answer.has_value());
  ASSERT_FALSE(*answer);
  EXPECT_EQ(answer->error().message,
            fmt::format("worker 1 pid {} exited before it was ready (exit 3)", to_int(pid)));
}

TEST_F(SupervisorTest, ExtendTimeoutMovesTheReadyDeadline) {
  Policy policy;
  policy.ready_mode = ReadyMode::Notify;
  policy.ready_timeout = 1s;
  make(policy).start();
  supervisor_->on_extend_timeout(spawner_.last_started(), 5s);
  advance(4s);
  EXPECT_TRUE(spawner_.stopped().empty());
  advance(1s);
  EXPECT_EQ(spawner_.stopped().size(), 1u);
}

TEST_F(SupervisorTest, ShutdownStopsGracefullyThenKillsAtStopTimeout) {
  start_workers(2);
  supervisor_->shutdown(StopMode::Graceful);
  ASSERT_EQ(spawner_.stopped().size(), 2u);
  EXPECT_EQ(spawner_.stopped()[0].mode, StopMode::Graceful);
  supervisor_->on_exited(spawner_.started()[0].pid, ExitStatus::exited(0));
  advance(10s);  // the default stopTimeoutMs: the second one ignored its signal
  ASSERT_EQ(spawner_.stopped().size(), 3u);
  EXPECT_EQ(spawner_.stopped()[2].pid, spawner_.started()[1].pid);
  EXPECT_EQ(spawner_.stopped()[2].mode, StopMode::Kill);
  EXPECT_FALSE(supervisor_->is_finished());
  supervisor_->on_exited(spawner_.started()[1].pid, ExitStatus::killed(9));
  EXPECT_TRUE(supervisor_->is_finished());
  EXPECT_EQ(events_named("workerExit", "shutdown"), 2u);
  advance(1s);
  EXPECT_EQ(spawner_.started().size(), 2u);  // nothing restarted
}

TEST_F(SupervisorTest, ForcedShutdownKillsAtOnce) {
  start_workers(1);
  supervisor_->shutdown(StopMode::Graceful);
  supervisor_->shutdown(StopMode::Kill);
  ASSERT_EQ(spawner_.stopped().size(), 2u);
  EXPECT_EQ(spawner_.stopped()[1].mode, StopMode::Kill);
}

TEST_F(SupervisorTest, ShutdownCancelsPendingRestart) {
  start_workers(1);
  supervisor_->on_exited(spawner_.last_started(), ExitStatus::exited(1));
  supervisor_->shutdown(StopMode::Graceful);
  EXPECT_TRUE(supervisor_->is_finished());
  advance(1s);
  EXPECT_EQ(spawner_.started().size(), 1u);
}

TEST_F(SupervisorTest, FailedStartCountsTowardsTheCrashLoop) {
  Policy policy;
  policy.restarts_per_minute = 2;
  make(policy).start();
  spawner_.fail_next_starts(100);
  supervisor_->on_exited(spawner_.last_started(), ExitStatus::exited(1));
  for (int i = 0; i < 5; ++i) advance(100ms);
  EXPECT_EQ(spawner_.failed_starts(), 2);
  EXPECT_EQ(supervisor_->health().state, HealthState::CrashLoop);
}

TEST_F(SupervisorTest, MessagesFromUnknownPidsAreIgnored) {
  start_workers(1);
  supervisor_->on_ready(Pid{4242});
  supervisor_->on_exited(Pid{4242}, ExitStatus::exited(0));
  EXPECT_EQ(state(0), WorkerState::Starting);
  EXPECT_FALSE(supervisor_->is_worker(Pid{4242}));
  EXPECT_TRUE(supervisor_->is_worker(spawner_.last_started()));
}

TEST_F(SupervisorTest, ReadyAfterStopRequestIsIgnored) {
  start_workers(1);
  supervisor_->shutdown(StopMode::Graceful);
  supervisor_->on_ready(spawner_.last_started());
  EXPECT_EQ(state(0), WorkerState::Stopping);
}

TEST_F(SupervisorTest, StoppingMessageThenExitIsReplaced) {
  start_workers(1);
  supervisor_->on_ready(spawner_.last_started());
  supervisor_->on_stopping(spawner_.last_started());
  EXPECT_EQ(state(0), WorkerState::Stopping);
  supervisor_->on_exited(spawner_.last_started(), ExitStatus::exited(0));
  advance(100ms);
  EXPECT_EQ(spawner_.started().size(), 2u);
}

TEST_F(SupervisorTest, NextDeadlineIsTheEarliestOfAllSlots) {
  Policy policy;
  policy.worker_count = 2;
  policy.ready_mode = ReadyMode::Notify;
  policy.ready_timeout = 5s;
  make(policy).start();
  const TimePoint started = clock_.now();
  EXPECT_EQ(supervisor_->next_deadline(), started + 5s);
  supervisor_->on_exited(spawner_.started()[0].pid, ExitStatus::exited(1));
  EXPECT_EQ(supervisor_->next_deadline(), started + 100ms);
}


// Rollouts of programs that say nothing: the grace period set when the replacement started
// (from a command, not a process event) still fires.
TEST_F(SupervisorTest, RestartOfSilentWorkersCompletesAfterTheGracePeriods) {
  Policy policy;
  policy.worker_count = 2;
  policy.ready_mode = ReadyMode::Auto;
  make(policy).start();
  advance(500ms);
  std::optional<Result<nlohmann::json>> result;
  ASSERT_TRUE(supervisor_->begin_rollout({Reason::Restart, {}, {}, {}, {}, "restart all"},
                                         [&](Result<nlohmann::json> r) { result = r; }));
  advance(500ms);  // the first replacement has been up for readyGraceMs: it takes over
  supervisor_->on_exited(spawner_.started()[0].pid, ExitStatus::killed(15));
  advance(500ms);
  supervisor_->on_exited(spawner_.started()[1].pid, ExitStatus::killed(15));
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(*result);
}

TEST_F(SupervisorTest, StartOfASilentWorkerBecomesReadyAfterGrace) {
  Policy policy;
  policy.worker_count = 1;
  policy.ready_mode = ReadyMode::Auto;
  make(policy);
  ASSERT_TRUE(supervisor_->start_workers(0, std::nullopt));
  advance(500ms);
  EXPECT_EQ(state(0), WorkerState::Ready);
}

TEST_F(SupervisorTest, RemoveWorkerStopsTheLastSlotAndDropsItOnceExited) {
  start_workers(3);
  for (const auto& started : spawner_.started()) supervisor_->on_ready(started.pid);
  const Pid last = spawner_.started()[2].pid;
  ASSERT_EQ(supervisor_->remove_worker().value(), 2u);  // Given a worker fewer asked for,
  ASSERT_EQ(spawner_.stopped().size(), 1u);
  EXPECT_EQ(spawner_.stopped()[0].pid, last);            // the last one is stopped,
  EXPECT_EQ(supervisor_->health().state, HealthState::Ok);  // which health no longer counts,
  supervisor_->on_exited(last, ExitStatus::killed(15));
  EXPECT_EQ(supervisor_->workers().size(), 2u);  // and once gone, neither do the workers,
  EXPECT_EQ(events_named("workerExit", "shutdown"), 1u);
  advance(1s);
  EXPECT_EQ(spawner_.started().size(), 3u);  // and it is not restarted.
}

TEST_F(SupervisorTest, RemoveWorkerKeepsAtLeastOne) {
  start_workers(1);
  const auto removed = supervisor_->remove_worker();
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, make_error_code(errc::bad_request));
  EXPECT_TRUE(spawner_.stopped().empty());
}

TEST_F(SupervisorTest, AddWorkerStartsOneMoreInANewSlot) {
  start_workers(2);
  ASSERT_EQ(supervisor_->add_worker().value(), 3u);
  ASSERT_EQ(spawner_.started().size(), 3u);
  EXPECT_EQ(spawner_.started()[2].id, WorkerId{3});
  EXPECT_EQ(supervisor_->workers().size(), 3u);
}

TEST_F(SupervisorTest, AddWorkerWhileOneIsBeingRemovedKeepsTheCount) {
  start_workers(2);
  const Pid last = spawner_.started()[1].pid;
  ASSERT_EQ(supervisor_->remove_worker().value(), 1u);
  ASSERT_EQ(supervisor_->add_worker().value(), 2u);  // while the removed one still stops
  supervisor_->on_exited(last, ExitStatus::killed(15));
  EXPECT_EQ(supervisor_->worker_target(), 2u);
  EXPECT_EQ(supervisor_->workers().size(), 2u);
  ASSERT_EQ(supervisor_->remove_worker().value(), 1u);  // the added one is the last now
  EXPECT_EQ(spawner_.stopped().back().pid, spawner_.started()[2].pid);
}

}  // namespace
}  // namespace cservice::supervisor
