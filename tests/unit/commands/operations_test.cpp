#include "commands/operations.hpp"

#include "commands/answer.hpp"
#include "commands/registry.hpp"
#include "commands/run_operation.hpp"
#include "supervisor/supervisor.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace cservice::commands {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class OperationsRegistryTest : public ::testing::Test {
 protected:
  OperationsRegistryTest() {
    events_.subscribe("operation", [this](const supervisor::Event& e) { published_.push_back(e.data); });
  }

  FakeClock clock_;
  supervisor::EventBus events_;
  std::vector<json> published_;
  // 2024-05-01T12:00:00.123Z
  Operations operations_{clock_, events_, [] {
                           return std::chrono::system_clock::time_point(1714564800123ms);
                         }};
};

TEST_F(OperationsRegistryTest, IdsIncreaseFromOneAndEachOperationStartsRunning) {
  const OperationId first = operations_.begin(OperationKind::Restart, "restart all");
  const OperationId second = operations_.begin(OperationKind::Start, "start");
  EXPECT_EQ(to_int(first), 1u);
  EXPECT_EQ(to_int(second), 2u);
  const Operation* op = operations_.find(first);
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->state, OperationState::Running);
  EXPECT_EQ(op->started_at, "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(operations_.running_rollout(), op) << "a start is not a rollout";
}

TEST_F(OperationsRegistryTest, OutcomeAndStateAreKeptWhenOver) {
  const OperationId id = operations_.begin(OperationKind::Upgrade, "upgrade all /srv/v2");
  operations_.progress(id, "canary", 0, 4);
  clock_.advance(1500ms);
  operations_.finish(id, answer_of(json{{"replaced", json::array()}}));
  const Operation& op = *operations_.find(id);
  EXPECT_EQ(op.state, OperationState::Succeeded);
  EXPECT_EQ(op.outcome->result, (json{{"replaced", json::array()}}));
  const json view = to_json(op, clock_.now());
  EXPECT_EQ(view["durationMs"], 1500);
  EXPECT_EQ(view["stage"], "canary");
  EXPECT_EQ(view["total"], 4);
  EXPECT_EQ(view["outcome"]["status"], 200);
  EXPECT_EQ(operations_.running_rollout(), nullptr);
  // A late report changes nothing.
  operations_.progress(id, "replace", 1, 4);
  EXPECT_EQ(operations_.find(id)->stage, "canary");
}

TEST_F(OperationsRegistryTest, AFailureAfterACancelIsCancelledAndOtherwiseFailed) {
  const OperationId cancelled = operations_.begin(OperationKind::Upgrade, "upgrade all x");
  operations_.mark_cancel(cancelled, "cancelled by the operator (cancel 1)");
  operations_.finish(cancelled, answer_of(make_error(errc::failed, "upgrade all x: cancelled")));
  EXPECT_EQ(operations_.find(cancelled)->state, OperationState::Cancelled);
  const OperationId failed = operations_.begin(OperationKind::Restart, "restart all");
  operations_.finish(failed, answer_of(make_error(errc::failed, "restart all: failed")));
  EXPECT_EQ(operations_.find(failed)->state, OperationState::Failed);
  EXPECT_EQ(operations_.find(failed)->outcome->status, 500);
}

TEST_F(OperationsRegistryTest, HistoryKeepsEveryRunningOneAndTheLastFiftyFinished) {
  const OperationId running = operations_.begin(OperationKind::Restart, "restart all");
  for (int i = 0; i < 60; ++i) {
    const OperationId id = operations_.begin(OperationKind::Start, "start");
    operations_.finish(id, answer_of(json::object()));
  }
  const auto all = operations_.all();
  ASSERT_EQ(all.size(), Operations::kMaxFinished + 1);
  EXPECT_EQ(all.front()->id, running) << "oldest first, and the running one is kept";
  EXPECT_EQ(to_int(all[1]->id), 12u) << "the first ten finished are gone";
  EXPECT_EQ(to_int(all.back()->id), 61u);
  EXPECT_EQ(operations_.find(OperationId{2}), nullptr);
}

TEST_F(OperationsRegistryTest, WaitersAreCalledOnceOverOrAtOnce) {
  const OperationId id = operations_.begin(OperationKind::Restart, "restart all");
  int called = 0;
  operations_.when_over(id, [&](const Operation& op) {
    ++called;
    EXPECT_EQ(op.state, OperationState::Succeeded);
  });
  EXPECT_EQ(called, 0);
  operations_.finish(id, answer_of(json::object()));
  EXPECT_EQ(called, 1);
  operations_.when_over(id, [&](const Operation&) { ++called; });
  EXPECT_EQ(called, 2);
}

TEST_F(OperationsRegistryTest, StartProgressAndEndArePublishedAsEvents) {
  const OperationId id = operations_.begin(OperationKind::Upgrade, "upgrade all /srv/v2");
  operations_.progress(id, "replace", 1, 4);
  operations_.finish(id, answer_of(make_error(errc::failed, "it failed")));
  ASSERT_EQ(published_.size(), 3u);
  EXPECT_EQ(published_[0], (json{{"operation", 1}, {"kind", "upgrade"},
                                 {"description", "upgrade all /srv/v2"}, {"state", "running"},
                                 {"stage", nullptr}, {"done", nullptr}, {"total", nullptr}}));
  EXPECT_EQ(published_[1]["stage"], "replace");
  EXPECT_EQ(published_[1]["done"], 1);
  EXPECT_EQ(published_[2]["state"], "failed");
  EXPECT_EQ(published_[2]["status"], 500);
  EXPECT_EQ(published_[2]["error"], "it failed");
}

// run_operation, with a stand-in for the supervisor's side.
class NoSpawner final : public supervisor::Spawner {
 public:
  Result<Pid> start(WorkerId, const supervisor::ProgramSpec&) override { return Pid{1000}; }
  void stop(WorkerId, Pid, supervisor::StopMode) override {}
};

class RunOperationTest : public OperationsRegistryTest {
 protected:
  RunOperationTest() { context_.operations = &operations_; }

  // Runs an operation whose begin keeps its hooks in hooks_; returns the answer, if any yet.
  std::optional<Answer> run(OperationKind kind, const json& options) {
    auto answer = std::make_shared<std::optional<Answer>>();
    answers_.push_back(answer);
    run_operation(context_, kind, "restart all", options,
                  Reply([answer](Result<json> result, Success success) {
                    *answer = answer_of(std::move(result), success);
                  }),
                  [this](OperationHooks hooks) -> Result<void> {
                    hooks_ = std::move(hooks);
                    return {};
                  });
    return *answer;
  }

  NoSpawner spawner_;
  supervisor::Supervisor supervisor_{supervisor::Policy{}, {"/srv/app", {}, {}}, spawner_, clock_,
                                     events_};
  Context context_{supervisor_, clock_, clock_.now(), "0.0", nullptr, nullptr};
  OperationHooks hooks_;
  std::vector<std::shared_ptr<std::optional<Answer>>> answers_;
};

TEST_F(RunOperationTest, SynchronousAnswersWithTheSupervisorsAnswerWhenOver) {
  EXPECT_FALSE(run(OperationKind::Restart, json::object()));
  ASSERT_TRUE(hooks_.on_progress) << "a rollout reports its progress";
  hooks_.on_progress({supervisor::RolloutStage::Replace, 1, 2});
  EXPECT_EQ(operations_.find(OperationId{1})->stage, "replace");
  hooks_.done(make_error(errc::failed, "restart all: worker 1 failed"));
  ASSERT_TRUE(*answers_.back());
  EXPECT_EQ((*answers_.back())->status, 500);
  EXPECT_EQ((*answers_.back())->error, "restart all: worker 1 failed");
  EXPECT_EQ(operations_.find(OperationId{1})->state, OperationState::Failed);
}

TEST_F(RunOperationTest, AsyncAnswers202AtOnceAndASecondRolloutIsBusy) {
  const auto accepted = run(OperationKind::Restart, {{"async", true}});
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->status, 202);
  EXPECT_EQ(accepted->result["operation"], 1);
  EXPECT_EQ(accepted->result["state"], "running");
  const auto busy = run(OperationKind::Upgrade, {{"async", true}});
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 409);
  EXPECT_EQ(busy->error, "busy: operation 1 (restart all) is running; 'wait 1' or 'cancel 1'");
  hooks_ = {};
  EXPECT_EQ(operations_.all().size(), 1u) << "a refused one is no operation";
}

TEST_F(RunOperationTest, AsyncMustBeABoolean) {
  const auto refused = run(OperationKind::Start, {{"async", 1}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(refused->error, "start: async must be true or false, got 1");
  EXPECT_TRUE(operations_.all().empty());
}

// cancel, against a real rollout: a second cancel while the first is rolling back joins it.
class CountingSpawner final : public supervisor::Spawner {
 public:
  Result<Pid> start(WorkerId, const supervisor::ProgramSpec&) override {
    started.push_back(Pid{next_++});
    return started.back();
  }
  void stop(WorkerId, Pid, supervisor::StopMode) override {}
  std::vector<Pid> started;

 private:
  pid_t next_ = 100;
};

class CancelTest : public OperationsRegistryTest {
 protected:
  CancelTest() {
    context_.operations = &operations_;
    supervisor_.start();
    for (const Pid pid : spawner_.started) supervisor_.on_ready(pid);
  }
  static std::function<void(Result<json>, Success)> into(std::optional<Answer>& answer) {
    return [&answer](Result<json> result, Success success) {
      answer = answer_of(std::move(result), success);
    };
  }
  void cancel(std::optional<Answer>& answer) {
    cancel_command().run(context_, registry_, {json(1)}, Reply(into(answer)));
  }

  static supervisor::Policy two_workers() {
    supervisor::Policy policy;
    policy.worker_count = 2;
    policy.ready_mode = supervisor::ReadyMode::Notify;
    return policy;
  }

  CountingSpawner spawner_;
  supervisor::Supervisor supervisor_{two_workers(), {"/srv/v1", {}, {}}, spawner_, clock_, events_};
  Context context_{supervisor_, clock_, clock_.now(), "0.0", nullptr, nullptr};
  Registry registry_;
};

TEST_F(CancelTest, ASecondCancelWhileRollingBackJoinsTheFirst) {
  std::optional<Answer> upgrade;
  supervisor::RolloutRequest request{supervisor::Reason::Upgrade, {},
                                     supervisor::ProgramSpec{"/srv/v2", {}, {}}, {},
                                     Milliseconds(0), "upgrade all /srv/v2"};
  request.batch = 1;
  run_operation(context_, OperationKind::Upgrade, request.description, json::object(),
                Reply(into(upgrade)), [&](OperationHooks hooks) {
                  request.on_progress = std::move(hooks.on_progress);
                  return supervisor_.begin_rollout(std::move(request), std::move(hooks.done));
                });
  supervisor_.on_ready(spawner_.started[2]);  // the canary, on a trial of 0 ms
  supervisor_.on_timer();                      // it takes over; worker 2's replacement starts
  ASSERT_EQ(spawner_.started.size(), 4u);

  std::optional<Answer> first;
  std::optional<Answer> second;
  cancel(first);  // rolls worker 1 back: a v1 process starts
  ASSERT_EQ(spawner_.started.size(), 5u);
  EXPECT_FALSE(first) << "answered before the rollback was over";
  cancel(second);
  EXPECT_FALSE(second) << second->error;
  supervisor_.on_ready(spawner_.started[4]);
  supervisor_.on_exited(spawner_.started[2], supervisor::ExitStatus::exited(0));
  supervisor_.on_exited(spawner_.started[0], supervisor::ExitStatus::exited(0));
  for (const auto* answer : {&first, &second}) {
    ASSERT_TRUE(*answer);
    EXPECT_EQ((*answer)->status, 200) << (*answer)->error;
    EXPECT_EQ((*answer)->result["cancelled"], true) << (*answer)->result.dump();
  }
  EXPECT_EQ(operations_.find(OperationId{1})->state, OperationState::Cancelled);
  ASSERT_TRUE(upgrade);
  EXPECT_EQ(upgrade->status, 500);
}

TEST_F(CancelTest, AnOperationEndedByTheServicesShutdownIsCancelled) {
  std::optional<Answer> restart;
  supervisor::RolloutRequest request{supervisor::Reason::Restart, {}, {}, {}, {}, "restart all"};
  run_operation(context_, OperationKind::Restart, request.description, json::object(),
                Reply(into(restart)), [&](OperationHooks hooks) {
                  return supervisor_.begin_rollout(std::move(request), std::move(hooks.done));
                });
  supervisor_.shutdown(supervisor::StopMode::Graceful);
  ASSERT_TRUE(restart);
  EXPECT_EQ(restart->status, 500);
  EXPECT_EQ(operations_.find(OperationId{1})->state, OperationState::Cancelled);
}

}  // namespace
}  // namespace cservice::commands
