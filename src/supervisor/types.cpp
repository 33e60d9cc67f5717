#include "supervisor/types.hpp"

#include <cstring>
#include <fmt/format.h>

namespace cservice::supervisor {

const char* to_string(WorkerState state) {
  switch (state) {
    case WorkerState::Starting: return "starting";
    case WorkerState::Ready: return "ready";
    case WorkerState::Stopping: return "stopping";
    case WorkerState::Exited: return "exited";
  }
  return "unknown";
}

const char* to_string(Reason reason) {
  switch (reason) {
    case Reason::Start: return "start";
    case Reason::Restart: return "restart";
    case Reason::Failure: return "failure";
    case Reason::Upgrade: return "upgrade";
    case Reason::Shutdown: return "shutdown";
    case Reason::Recycle: return "recycle";
    case Reason::Rollback: return "rollback";
  }
  return "unknown";
}

std::string ExitStatus::describe() const {
  if (!signaled) return fmt::format("exit {}", value);
  const char* abbrev = ::sigabbrev_np(value);
  if (abbrev == nullptr) return fmt::format("killed by signal {}", value);
  return fmt::format("killed by SIG{}", abbrev);
}

}  // namespace cservice::supervisor
