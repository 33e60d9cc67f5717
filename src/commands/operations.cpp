#include "commands/operations.hpp"

#include "commands/answer.hpp"

#include <fmt/format.h>

#include <ctime>

namespace cservice::commands {

const char* to_string(OperationKind kind) {
  switch (kind) {
    case OperationKind::Restart: return "restart";
    case OperationKind::Upgrade: return "upgrade";
    case OperationKind::Rollback: return "rollback";
    case OperationKind::Start: return "start";
    case OperationKind::Shutdown: return "shutdown";
  }
  return "unknown";
}

const char* to_string(OperationState state) {
  switch (state) {
    case OperationState::Running: return "running";
    case OperationState::Succeeded: return "succeeded";
    case OperationState::Failed: return "failed";
    case OperationState::Cancelled: return "cancelled";
  }
  return "unknown";
}

std::string rfc3339(std::chrono::system_clock::time_point time) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
  const auto seconds = std::chrono::floor<std::chrono::seconds>(ms);
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     (ms - seconds).count());
}

nlohmann::json to_json(const Operation& operation, TimePoint now) {
  nlohmann::json json = {{"operation", to_int(operation.id)},
                         {"kind", to_string(operation.kind)},
                         {"description", operation.description},
                         {"state", to_string(operation.state)},
                         {"stage", nullptr},
                         {"done", nullptr},
                         {"total", nullptr},
                         {"startedAt", operation.started_at}};
  if (operation.stage) json["stage"] = *operation.stage;
  if (operation.progress) {
    json["done"] = operation.progress->done;
    json["total"] = operation.progress->total;
  }
  const auto ms = [&](TimePoint to) {
    return std::chrono::duration_cast<Milliseconds>(to - operation.started).count();
  };
  if (operation.ended) {
    json["durationMs"] = ms(*operation.ended);
  } else {
    json["elapsedMs"] = ms(now);
  }
  if (operation.outcome) json["outcome"] = commands::to_json(*operation.outcome);
  return json;
}

Operations::Operations(const Clock& clock, supervisor::EventBus& events, WallClock wall)
    : clock_(clock), events_(events), wall_(std::move(wall)) {}

OperationId Operations::begin(OperationKind kind, std::string description) {
  const OperationId id{++last_id_};
  Operation& operation = operations_[id];
  operation.id = id;
  operation.kind = kind;
  operation.description = std::move(description);
  operation.started = clock_.now();
  operation.started_at = rfc3339(wall_());
  publish(operation);
  return id;
}

void Operations::progress(OperationId id, std::string stage, std::size_t done, std::size_t total) {
  Operation* operation = find_mutable(id);
  if (operation == nullptr || operation->state != OperationState::Running) return;
  operation->stage = std::move(stage);
  operation->progress = Operation::Progress{done, total};
  publish(*operation);
}

void Operations::mark_cancel(OperationId id, std::string reason) {
  if (Operation* operation = find_mutable(id)) operation->cancel_reason = std::move(reason);
}

void Operations::finish(OperationId id, Answer outcome) {
  Operation* operation = find_mutable(id);
  if (operation == nullptr || operation->state != OperationState::Running) return;
  operation->state = outcome.ok()                         ? OperationState::Succeeded
                     : !operation->cancel_reason.empty() ? OperationState::Cancelled
                                                         : OperationState::Failed;
  operation->ended = clock_.now();
  operation->outcome = std::move(outcome);
  // A copy: the record may be dropped from the history while the waiters run.
  const Operation ended = *operation;
  finished_.push_back(id);
  while (finished_.size() > kMaxFinished) {
    operations_.erase(finished_.front());
    finished_.pop_front();
  }
  publish(ended);
  std::vector<Waiter> waiters;
  if (const auto it = waiters_.find(id); it != waiters_.end()) {
    waiters = std::move(it->second);
    waiters_.erase(it);
  }
  for (const auto& waiter : waiters) waiter(ended);
}

void Operations::when_over(OperationId id, Waiter waiter) {
  const Operation* operation = find(id);
  if (operation == nullptr) return;
  if (operation->state != OperationState::Running) {
    waiter(*operation);
    return;
  }
  waiters_[id].push_back(std::move(waiter));
}

const Operation* Operations::find(OperationId id) const {
  const auto it = operations_.find(id);
  return it == operations_.end() ? nullptr : &it->second;
}

Operation* Operations::find_mutable(OperationId id) {
  const auto it = operations_.find(id);
  return it == operations_.end() ? nullptr : &it->second;
}

std::vector<const Operation*> Operations::all() const {
  std::vector<const Operation*> list;
  list.reserve(operations_.size());
  for (const auto& [id, operation] : operations_) list.push_back(&operation);
  return list;
}

const Operation* Operations::running_rollout() const {
  for (const auto& [id, operation] : operations_) {
    if (operation.state == OperationState::Running && is_rollout(operation.kind)) {
      return &operation;
    }
  }
  return nullptr;
}

void Operations::publish(const Operation& operation) const {
  nlohmann::json data = {{"operation", to_int(operation.id)},
                         {"kind", to_string(operation.kind)},
                         {"description", operation.description},
                         {"state", to_string(operation.state)},
                         {"stage", nullptr},
                         {"done", nullptr},
                         {"total", nullptr}};
  if (operation.stage) data["stage"] = *operation.stage;
  if (operation.progress) {
    data["done"] = operation.progress->done;
    data["total"] = operation.progress->total;
  }
  if (operation.outcome) {
    data["status"] = operation.outcome->status;
    if (!operation.outcome->ok()) data["error"] = operation.outcome->error;
  }
  events_.publish({"operation", std::move(data)});
}

}  // namespace cservice::commands
