#pragma once
// Process is the supervisor's one record of a live process: a slot's current worker, its
// incoming replacement during a rollout, a replaced worker on its way out, or an escaped
// descendant of a worker (an orphan the master adopted). Whatever its role, a process has the
// same fields and the same deadlines, so one loop handles every timer and one lookup by pid
// finds it. Plain data; owned by Supervisor.

#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/ids.hpp"
#include "supervisor/types.hpp"

namespace cservice::supervisor {

enum class Role {
  Current,   // the process serving in its slot
  Incoming,  // a rollout's replacement, starting beside the current one
  Retiring,  // replaced, or a failed replacement: told to stop, not waited for by its slot
  Orphan,    // a descendant that escaped its worker's process group, outliving it
};
const char* to_string(Role role);

struct Process {
  Pid pid{};
  WorkerId slot{};  // the slot it belongs (or belonged) to
  Role role = Role::Current;
  WorkerState state = WorkerState::Starting;  // never Exited: an exited process has no record
  Reason reason = Reason::Start;              // why it started, or why it is being stopped
  SpecPtr spec;                               // what it runs (null for an orphan)
  TimePoint started{};
  std::string status;  // last STATUS= text

  // Its deadlines; the supervisor wakes at the earliest of all of them.
  std::optional<TimePoint> ready_deadline;  // Starting: the ready timeout
  std::optional<TimePoint> grace_deadline;  // Starting, auto mode, nothing heard yet
  std::optional<TimePoint> kill_deadline;   // Stopping: SIGKILL then

  Milliseconds ready_timeout{};  // Starting: the time it was given to become ready
  Milliseconds stop_timeout{};   // Stopping: the time it was given
  bool exit_expected = false;   // it was asked to stop: its exit is no failure
  // when_ready() callers: answered once it is ready, or with an error if it never becomes so.
  std::vector<Completion> on_ready;

  std::optional<TimePoint> earliest_deadline() const {
    std::optional<TimePoint> best;
    for (const auto& d : {ready_deadline, grace_deadline, kill_deadline}) {
      if (d && (!best || *d < *best)) best = d;
    }
    return best;
  }
};

}  // namespace cservice::supervisor
