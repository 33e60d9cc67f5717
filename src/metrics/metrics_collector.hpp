#pragma once
// MetricsCollector keeps the service's Prometheus metrics (`GET /metrics`): counters and
// histograms fed by the EventBus as things happen (restarts, crash loops, time to ready,
// rollouts, control requests), and gauges read at each scrape from the supervisor's view of its
// workers and from /proc (through the injected reader). render() writes them all in the text
// format, version 0.0.4 (built as prometheus-cpp metric families and written by its
// TextSerializer), every name prefixed `cservice_`, in base units (seconds, bytes).
//
// Every worker series carries `group`: the program's group of workers (today one, "main", as
// CSERVICE_WORKER_GROUP says), so that dashboards keep working once a service runs several.
//
// Loop thread only. The subscriptions hold the counters by shared pointer, so events published
// after the collector is gone (during the runtime's teardown) do no harm; `clock` must outlive
// every publish on `events`.

#include "base/clock.hpp"
#include "base/ids.hpp"
#include "commands/command.hpp"
#include "supervisor/event_bus.hpp"
#include "supervisor/supervisor.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cservice::metrics {

// What a scrape reads from the master's present state.
struct Snapshot {
  std::vector<supervisor::WorkerInfo> workers;
  // RSS and CPU time of a process (/proc/PID/stat), nullopt if it cannot be read.
  std::function<std::optional<commands::ProcessStats>(Pid)> process_stats;
};

struct CollectorSettings {
  std::string version;        // cservice_build_info{version=...}
  std::string group = "main"; // the workers' group label
  Pid master_pid{};           // the master's own RSS and CPU
  std::chrono::system_clock::time_point started_wall{};  // cservice_start_time_seconds
};

class MetricsCollector {
 public:
  // Distinct `command` labels of cservice_control_requests_total; more are counted as "other",
  // so a key holder sending made-up command names cannot grow the scrape without bound.
  static constexpr std::size_t kMaxCommands = 100;

  // Subscribes to `events` at once; the master's uptime counts from now.
  MetricsCollector(const Clock& clock, supervisor::EventBus& events, CollectorSettings settings);

  // Every metric, in the text format.
  std::string render(const Snapshot& snapshot) const;

 private:
  struct Counters;
  const Clock& clock_;
  CollectorSettings settings_;
  TimePoint started_;
  std::shared_ptr<Counters> counters_;
};

}  // namespace cservice::metrics
