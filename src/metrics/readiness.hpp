#pragma once
// Readiness: whether the service is ready for traffic, as `GET /readyz` reports it. Pure logic
// over the supervisor's view of its workers.
//
// Ready when at least `needed` worker slots serve (their worker, or a rollout's replacement
// beside it, is ready). `needed` is `minReady` when set, else every worker slot except those an
// operator stopped for good (`shutdown PID`) and one being removed (SIGTTOU). A slot a rollout
// replaces keeps serving throughout (ready before stop), so it never counts as missing; a slot
// in a crash loop does, whatever runs beside it.
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
