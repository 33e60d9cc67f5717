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

TEST(ReadinessTest, WorkersARolloutReplacesAndOnesStoppedForGoodAreNotNeeded) {
  WorkerInfo replaced = worker(2, WorkerState::Stopping);
  replaced.incoming = WorkerInfo::Incoming{Pid{300}, WorkerState::Starting, nullptr};
  WorkerInfo stopped = worker(3, WorkerState::Exited);
  stopped.reason = Reason::Shutdown;
  const auto r = readiness({worker(1, WorkerState::Ready), replaced, stopped}, false, std::nullopt);
  EXPECT_TRUE(r.ready) << r.reason;
  EXPECT_EQ(r.needed, 1u);
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
