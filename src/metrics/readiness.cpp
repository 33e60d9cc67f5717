#include "metrics/readiness.hpp"

#include <fmt/format.h>

namespace cservice::metrics {

using supervisor::Reason;
using supervisor::WorkerState;

Readiness readiness(const std::vector<supervisor::WorkerInfo>& workers, bool shutting_down,
                    std::optional<std::uint32_t> min_ready) {
  Readiness r;
  std::size_t expected = 0;
  std::size_t slots = 0;
  for (const auto& w : workers) {
    if (w.removing) continue;
    ++slots;
    // A slot a rollout replaces serves through either process (the replacement is ready before
    // the old one is stopped), so a rolling restart does not take the service out of rotation;
    // a slot with neither ready (a crash loop, a dead worker being replaced) is missing.
    const bool serving = (w.pid && w.state == WorkerState::Ready) ||
                         (w.incoming && w.incoming->state == WorkerState::Ready);
    if (serving) ++r.ready_workers;
    const bool stopped_for_good = !w.pid && w.reason == Reason::Shutdown && !w.crash_loop;
    if (!stopped_for_good) ++expected;
  }
  r.needed = min_ready ? *min_ready : expected;
  r.reason = fmt::format("{}/{} workers ready, need {}", r.ready_workers, slots, r.needed);
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
