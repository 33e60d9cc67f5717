#include "metrics/readiness.hpp"

#include <fmt/format.h>

namespace cservice::metrics {

using supervisor::Reason;
using supervisor::WorkerState;

Readiness readiness(const std::vector<supervisor::WorkerInfo>& workers, bool shutting_down,
                    std::optional<std::uint32_t> min_ready) {
  Readiness r;
  std::size_t expected = 0;
  for (const auto& w : workers) {
    if (w.state == WorkerState::Ready) ++r.ready_workers;
    const bool stopped_for_good =
        !w.pid && w.reason == Reason::Shutdown && !w.crash_loop;
    if (!w.incoming && !stopped_for_good && !w.removing) ++expected;
  }
  r.needed = min_ready ? *min_ready : expected;
  r.reason = fmt::format("{}/{} workers ready, need {}", r.ready_workers, workers.size(),
                         r.needed);
  if (shutting_down) {
    r.reason = "shutting down";
    return r;
  }
  if (workers.empty() && !min_ready) {
    // Before the first workers start (the REST API opens first): not ready yet.
    r.reason = "no worker started yet";
    return r;
  }
  r.ready = r.ready_workers >= r.needed;
  return r;
}

}  // namespace cservice::metrics
