#pragma once
// Readiness: whether the service is ready for traffic, as `GET /readyz` reports it. Pure logic
// over the supervisor's view of its workers.
//
// Ready when at least `needed` workers are ready. `needed` is `minReady` when set, else every
// worker slot except those a rollout is replacing right now (their replacement starting beside
// them), those an operator stopped for good (`shutdown PID`) and one being removed (SIGTTOU).
// A service shutting down is not ready, whatever its workers.

#include "supervisor/supervisor.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cservice::metrics {

struct Readiness {
  bool ready = false;
  std::size_t ready_workers = 0;
  std::size_t needed = 0;
  std::string reason;  // one line: "2/4 workers ready, need 4" (also when ready)
};

Readiness readiness(const std::vector<supervisor::WorkerInfo>& workers, bool shutting_down,
                    std::optional<std::uint32_t> min_ready);

}  // namespace cservice::metrics
