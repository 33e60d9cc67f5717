#include "metrics/readiness.hpp"

#include <gtest/gtest.h>

namespace cservice::metrics {
namespace {

using supervisor::Reason;
using supervisor::WorkerInfo;
using supervisor::WorkerState;

WorkerInfo worker(std::uint32_t id, WorkerState state) {
  WorkerInfo w;
  w.id = WorkerId{id};
  w.state = state;
  if (state != WorkerState::Exited) w.pid = Pid{static_cast<pid_t>(100 + id)};
  return w;
}

TEST(ReadinessTest, NeedsEveryWorkerByDefault) {
  const auto r = readiness({worker(1, WorkerState::Ready), worker(2, WorkerState::Starting)}, false,
                           std::nullopt);
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.reason, "1/2 workers ready, need 2");
  EXPECT_TRUE(
      readiness({worker(1, WorkerState::Ready), worker(2, WorkerState::Ready)}, false, std::nullopt)
          .ready);
}

TEST(ReadinessTest, MinReadyLowersTheBar) {
  const auto r =
      readiness({worker(1, WorkerState::Ready), worker(2, WorkerState::Starting)}, false, 1);
  EXPECT_TRUE(r.ready);
  EXPECT_EQ(r.reason, "1/2 workers ready, need 1");
}

TEST(ReadinessTest, ASlotARolloutReplacesServesThroughEitherProcess) {
  WorkerInfo old_ready = worker(2, WorkerState::Ready);
  old_ready.incoming = WorkerInfo::Incoming{Pid{300}, WorkerState::Starting, nullptr};
  WorkerInfo new_ready = worker(3, WorkerState::Stopping);
  new_ready.incoming = WorkerInfo::Incoming{Pid{301}, WorkerState::Ready, nullptr};
  WorkerInfo stopped = worker(4, WorkerState::Exited);
  stopped.reason = Reason::Shutdown;
  const auto r = readiness({worker(1, WorkerState::Ready), old_ready, new_ready, stopped}, false,
                           std::nullopt);
  EXPECT_TRUE(r.ready) << r.reason;
  EXPECT_EQ(r.needed, 3u) << "a slot stopped for good is not needed";
  EXPECT_EQ(r.reason, "3/4 workers ready, need 3");
}

// A crash-looping slot that a rollout tries to replace is still missing until the replacement
// is ready: a rollout does not put a broken service back into rotation.
TEST(ReadinessTest, ACrashLoopingSlotARolloutReplacesIsStillNeeded) {
  WorkerInfo looping = worker(2, WorkerState::Exited);
  looping.reason = Reason::Failure;
  looping.crash_loop = true;
  looping.incoming = WorkerInfo::Incoming{Pid{300}, WorkerState::Starting, nullptr};
  const auto r = readiness({worker(1, WorkerState::Ready), looping}, false, std::nullopt);
  EXPECT_FALSE(r.ready) << r.reason;
  EXPECT_EQ(r.reason, "1/2 workers ready, need 2");
}

// SIGTTOU: the slot being removed drains; the service is ready with the workers it keeps.
TEST(ReadinessTest, ASlotBeingRemovedIsNotNeeded) {
  WorkerInfo removed = worker(3, WorkerState::Stopping);
  removed.removing = true;
  const auto r = readiness({worker(1, WorkerState::Ready), worker(2, WorkerState::Ready), removed},
                           false, std::nullopt);
  EXPECT_TRUE(r.ready) << r.reason;
  EXPECT_EQ(r.needed, 2u);
}

TEST(ReadinessTest, ACrashedSlotIsStillNeeded) {
  WorkerInfo crashed = worker(2, WorkerState::Exited);
  crashed.reason = Reason::Failure;
  EXPECT_FALSE(readiness({worker(1, WorkerState::Ready), crashed}, false, std::nullopt).ready);
}

TEST(ReadinessTest, NotReadyBeforeTheFirstWorkersStart) {
  const auto r = readiness({}, false, std::nullopt);
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.reason, "no worker started yet");
}

TEST(ReadinessTest, NotReadyWhileShuttingDown) {
  const auto r = readiness({worker(1, WorkerState::Ready)}, true, std::nullopt);
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.reason, "shutting down");
}

}  // namespace
}  // namespace cservice::metrics
