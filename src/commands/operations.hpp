#pragma once
// Operations is the record of the service's long commands (restart, upgrade, rollback, start,
// shutdown), each run as one operation with an id (1, 2, 3, ...): what it is, where it is (stage
// and progress, when the supervisor tells), when it started, and once over how it ended and the
// answer its synchronous form gives. Every running operation is kept, and the last
// kMaxFinished finished ones. Each start, progress and end is published as an "operation" event.
//
// One Operations serves the whole service (the master owns it; Context points to it), so an
// operation started over REST is seen by `operations`, `wait` and `cancel` from the console, the
// CLI, library code or a worker alike. Loop thread only: no locks. run_operation.hpp runs a
// command as an operation.

#include "base/clock.hpp"
#include "cservice/command.hpp"
#include "supervisor/event_bus.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cservice::commands {

enum class OperationId : std::uint64_t {};
constexpr std::uint64_t to_int(OperationId id) { return static_cast<std::uint64_t>(id); }

enum class OperationKind { Restart, Upgrade, Rollback, Start, Shutdown };
const char* to_string(OperationKind kind);
// Restart, upgrade and rollback are rollouts: one at a time, and they can be cancelled.
constexpr bool is_rollout(OperationKind kind) {
  return kind == OperationKind::Restart || kind == OperationKind::Upgrade ||
         kind == OperationKind::Rollback;
}

enum class OperationState { Running, Succeeded, Failed, Cancelled };
const char* to_string(OperationState state);

struct Operation {
  struct Progress {
    std::size_t done = 0;
    std::size_t total = 0;
  };

  OperationId id{};
  OperationKind kind = OperationKind::Restart;
  std::string description;  // "upgrade all /srv/v2"
  OperationState state = OperationState::Running;
  std::optional<std::string> stage;  // "canary", "replace", ... once the supervisor tells
  std::optional<Progress> progress;
  TimePoint started{};
  std::string started_at;  // wall time, RFC 3339 UTC with milliseconds
  std::optional<TimePoint> ended;
  std::optional<Answer> outcome;  // once over: the answer of the synchronous form
  std::string cancel_reason;      // non-empty once a cancel was asked
};

// The operation as JSON: {"operation", "kind", "description", "state", "stage", "done",
// "total", "startedAt", "elapsedMs" (running) or "durationMs" (over), "outcome": {"status",
// "result" or "error"} (over)}. Unknown stage and progress are null.
nlohmann::json to_json(const Operation& operation, TimePoint now);

// `time` as RFC 3339 UTC with milliseconds: "2024-05-01T12:00:00.123Z".
std::string rfc3339(std::chrono::system_clock::time_point time);

class Operations {
 public:
  static constexpr std::size_t kMaxFinished = 50;
  using WallClock = std::function<std::chrono::system_clock::time_point()>;
  // Called once the operation is over, with it as it ended.
  using Waiter = std::function<void(const Operation&)>;

  // `clock` (for durations) and `events` must outlive this. `wall` gives startedAt.
  Operations(const Clock& clock, supervisor::EventBus& events,
             WallClock wall = [] { return std::chrono::system_clock::now(); });

  // Records a new running operation and returns its id (one more than the last).
  OperationId begin(OperationKind kind, std::string description);
  // The supervisor's progress report of a running operation (ignored once it is over).
  void progress(OperationId id, std::string stage, std::size_t done, std::size_t total);
  // Records that a cancel was asked (`reason` says by whom): a failure that ends it now counts
  // as cancelled.
  void mark_cancel(OperationId id, std::string reason);
  // Ends a running operation with `outcome` (a 2xx: succeeded; else failed, or cancelled if a
  // cancel was asked), then calls its waiters. Ignored if it is over or unknown.
  void finish(OperationId id, Answer outcome);
  // Calls `waiter` once the operation is over: at once if it already is. REQUIRES: find(id).
  void when_over(OperationId id, Waiter waiter);

  const Operation* find(OperationId id) const;
  // Every kept operation, oldest first.
  std::vector<const Operation*> all() const;
  // The running rollout (restart, upgrade, rollback), if any.
  const Operation* running_rollout() const;
  TimePoint now() const { return clock_.now(); }

 private:
  Operation* find_mutable(OperationId id);
  void publish(const Operation& operation) const;

  const Clock& clock_;
  supervisor::EventBus& events_;
  WallClock wall_;
  std::uint64_t last_id_ = 0;
  std::map<OperationId, Operation> operations_;  // by id: oldest first
  std::deque<OperationId> finished_;             // oldest first, at most kMaxFinished
  std::map<OperationId, std::vector<Waiter>> waiters_;
};

}  // namespace cservice::commands
