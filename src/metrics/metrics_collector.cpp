#include "metrics/metrics_collector.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <map>
#include <string_view>

#include "base/check.hpp"

namespace cservice::metrics {

namespace {

using prometheus::MetricType;
using supervisor::Event;
using supervisor::WorkerState;
using Labels = std::vector<prometheus::ClientMetric::Label>;

// Scrape builds one scrape's metric families, each followed by its samples, and serializes them
// with prometheus-cpp's text serializer (format 0.0.4). A snapshot per scrape rather than a
// prometheus::Registry: the per-worker series come and go with the workers.
class Scrape {
 public:
  // Starts family `name`; the samples that follow belong to it. Every family is written once.
  void family(std::string_view name, MetricType type, std::string_view help) {
    // prometheus-cpp 1.0 writes help texts as they are, unescaped: ours need no escaping.
    CSERVICE_CHECK(help.find_first_of("\\\n") == std::string_view::npos,
                   "a metric's help text holds a backslash or a line feed");
    families_.push_back({std::string(name), std::string(help), type, {}});
  }
  // A counter's or gauge's sample of the current family.
  void sample(Labels labels, double value) {
    CSERVICE_CHECK(!families_.empty(), "a sample before its family");
    prometheus::MetricFamily& f = families_.back();
    prometheus::ClientMetric metric;
    metric.label = std::move(labels);
    switch (f.type) {
      case MetricType::Counter:
        metric.counter.value = value;
        break;
      case MetricType::Gauge:
        metric.gauge.value = value;
        break;
      default:
        CSERVICE_CHECK(false, "a plain sample of a histogram or summary family");
    }
    f.metric.push_back(std::move(metric));
  }
  // A histogram's buckets, sum and count, with `labels`, in the current (histogram) family.
  void histogram(Labels labels, const prometheus::Histogram& histogram) {
    CSERVICE_CHECK(!families_.empty() && families_.back().type == MetricType::Histogram,
                   "a histogram sample outside a histogram family");
    prometheus::ClientMetric metric = histogram.Collect();
    metric.label = std::move(labels);
    families_.back().metric.push_back(std::move(metric));
  }

  std::string text() const { return prometheus::TextSerializer().Serialize(families_); }

 private:
  std::vector<prometheus::MetricFamily> families_;
};

// Time to ready: from a few milliseconds (started mode) to the default ready timeout (30 s).
const std::vector<double> kReadyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                           1,     2.5,  5,     10,   30,  60};
// A rollout: a second for a small fleet, many minutes for a large one with a long monitor.
const std::vector<double> kRolloutBuckets = {0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800};

// Series present from the start, at 0, so that rate() and alerts see the first increase.
constexpr std::array kRestartReasons = {"failure", "restart", "upgrade", "rollback", "recycle"};
constexpr std::array kRolloutKinds = {"restart", "upgrade", "rollback"};
constexpr std::array kOutcomes = {"succeeded", "failed", "cancelled"};
constexpr std::array kStates = {WorkerState::Starting, WorkerState::Ready, WorkerState::Stopping,
                                WorkerState::Exited};

std::string text_of(const nlohmann::json& data, const char* field) {
  const auto it = data.find(field);
  if (it == data.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

bool is_rollout(const std::string& kind) {
  return kind == "restart" || kind == "upgrade" || kind == "rollback";
}

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

struct MetricsCollector::Counters {
  explicit Counters(const Clock& c) : clock(c) {
    for (const char* reason : kRestartReasons) restarts[reason] = 0;
    for (const char* kind : kRolloutKinds) {
      for (const char* outcome : kOutcomes) rollouts[{kind, outcome}] = 0;
      rollout_durations.try_emplace(kind, kRolloutBuckets);
    }
  }

  void on_event(const Event& event);
  void on_operation(const nlohmann::json& data);
  void on_command(const nlohmann::json& data);

  const Clock& clock;
  std::map<std::string, std::uint64_t> restarts;  // by reason
  std::uint64_t crash_loops = 0;
  prometheus::Histogram ready{kReadyBuckets};
  std::map<std::pair<std::string, std::string>, std::uint64_t> rollouts;  // kind, outcome
  std::map<std::string, prometheus::Histogram> rollout_durations;         // by kind
  std::map<std::uint64_t, TimePoint> running_operations;                  // by id: started
  std::map<std::pair<std::string, int>, std::uint64_t> requests;          // command, status
  std::size_t commands_seen = 0;
};

void MetricsCollector::Counters::on_event(const Event& event) {
  // Event data may come from anywhere (custom events share the bus): every field is checked.
  if (!event.data.is_object()) return;
  if (event.name == "workerExit") {
    // Every exit but a shutdown's is a worker replaced (or, in a crash loop, given up on).
    const std::string reason = text_of(event.data, "reason");
    if (!reason.empty() && reason != "shutdown") ++restarts[reason];
  } else if (event.name == "crashLoop") {
    ++crash_loops;
  } else if (event.name == "workerReady") {
    if (const auto it = event.data.find("readyMs"); it != event.data.end() && it->is_number()) {
      ready.Observe(it->get<double>() / 1000.0);
    }
  } else if (event.name == "operation") {
    on_operation(event.data);
  } else if (event.name == "commandRun") {
    on_command(event.data);
  }
}

void MetricsCollector::Counters::on_operation(const nlohmann::json& data) {
  const auto id_field = data.find("operation");
  if (id_field == data.end() || !id_field->is_number_unsigned()) return;
  const auto id = id_field->get<std::uint64_t>();
  const std::string kind = text_of(data, "kind");
  const std::string state = text_of(data, "state");
  if (!is_rollout(kind)) return;
  if (state == "running") {
    // The first event of an operation is its start; progress events follow.
    running_operations.try_emplace(id, clock.now());
    return;
  }
  const auto started = running_operations.find(id);
  if (started == running_operations.end()) return;  // seen ended already, or begun unseen
  ++rollouts[{kind, state}];
  rollout_durations.at(kind).Observe(seconds(clock.now() - started->second));
  running_operations.erase(started);
}

void MetricsCollector::Counters::on_command(const nlohmann::json& data) {
  std::string command = text_of(data, "command");
  const auto status_field = data.find("status");
  if (command.empty() || status_field == data.end() || !status_field->is_number_integer()) {
    return;
  }
  const int status = status_field->get<int>();
  // An unknown command's name is the caller's choice: not a label.
  if (status == 404) command = "unknown";
  const auto key = std::pair{command, status};
  if (!requests.contains(key)) {
    const bool known_command = std::any_of(requests.begin(), requests.end(),
                                           [&](const auto& e) { return e.first.first == command; });
    if (!known_command) {
      if (commands_seen >= kMaxCommands) {
        ++requests[{"other", status}];
        return;
      }
      ++commands_seen;
    }
  }
  ++requests[key];
}

MetricsCollector::MetricsCollector(const Clock& clock, supervisor::EventBus& events,
                                   CollectorSettings settings)
    : clock_(clock),
      settings_(std::move(settings)),
      started_(clock.now()),
      counters_(std::make_shared<Counters>(clock)) {
  events.subscribe([counters = counters_](const Event& event) {
    // A subscriber must not throw: a malformed field of a custom event is no reason to.
    try {
      counters->on_event(event);
    } catch (const std::exception&) {
    }
  });
}

std::string MetricsCollector::render(const Snapshot& snapshot) const {
  const Counters& c = *counters_;
  const std::string& group = settings_.group;
  Scrape out;

  out.family("cservice_build_info", MetricType::Gauge,
             "Always 1; the version of cservice as a label.");
  out.sample({{"version", settings_.version}}, 1);
  out.family("cservice_start_time_seconds", MetricType::Gauge,
             "When the master started, in seconds since the Unix epoch.");
  out.sample({}, std::chrono::duration<double>(settings_.started_wall.time_since_epoch()).count());
  out.family("cservice_uptime_seconds", MetricType::Gauge, "How long the master has run.");
  out.sample({}, seconds(clock_.now() - started_));

  if (snapshot.process_stats) {
    if (const auto master = snapshot.process_stats(settings_.master_pid)) {
      out.family("cservice_master_resident_memory_bytes", MetricType::Gauge,
                 "Resident memory of the master process.");
      out.sample({}, static_cast<double>(master->rss_bytes));
      out.family("cservice_master_cpu_seconds_total", MetricType::Counter,
                 "CPU time (user and system) of the master process.");
      out.sample({}, master->cpu_seconds);
    }
  }

  // Workers by state: each slot's process (a slot without one is exited), and each rollout
  // replacement starting beside it.
  std::map<WorkerState, std::size_t> by_state;
  for (const auto& w : snapshot.workers) {
    ++by_state[w.state];
    if (w.incoming) ++by_state[w.incoming->state];
  }
  out.family("cservice_workers", MetricType::Gauge,
             "Worker processes by state (a slot without a process counts as exited).");
  for (const WorkerState state : kStates) {
    out.sample({{"group", group}, {"state", supervisor::to_string(state)}},
               static_cast<double>(by_state[state]));
  }
  out.family("cservice_worker_slots", MetricType::Gauge, "Worker slots of the group.");
  out.sample({{"group", group}}, static_cast<double>(snapshot.workers.size()));
  std::size_t in_crash_loop = 0;
  for (const auto& w : snapshot.workers) in_crash_loop += w.crash_loop ? 1 : 0;
  out.family("cservice_workers_crash_looping", MetricType::Gauge,
             "Worker slots in a crash loop now (restarted at a slowing pace).");
  out.sample({{"group", group}}, static_cast<double>(in_crash_loop));

  out.family("cservice_worker_restarts_total", MetricType::Counter,
             "Worker processes that ended other than by a shutdown, by reason: failure "
             "(an unexpected exit), restart, upgrade, rollback, recycle.");
  for (const auto& [reason, count] : c.restarts) {
    out.sample({{"group", group}, {"reason", reason}}, static_cast<double>(count));
  }
  out.family("cservice_crash_loops_total", MetricType::Counter,
             "Entries of a worker slot into a crash loop (more than restartsPerMinute).");
  out.sample({{"group", group}}, static_cast<double>(c.crash_loops));
  out.family("cservice_worker_ready_seconds", MetricType::Histogram,
             "Time from a worker's start to its readiness.");
  out.histogram({{"group", group}}, c.ready);

  out.family("cservice_rollouts_total", MetricType::Counter,
             "Rolling operations (restart, upgrade, rollback) ended, by outcome.");
  for (const auto& [labels, count] : c.rollouts) {
    out.sample({{"kind", labels.first}, {"outcome", labels.second}}, static_cast<double>(count));
  }
  out.family("cservice_rollout_duration_seconds", MetricType::Histogram,
             "Duration of the rolling operations that ended.");
  for (const auto& [kind, histogram] : c.rollout_durations) {
    out.histogram({{"kind", kind}}, histogram);
  }

  out.family("cservice_control_requests_total", MetricType::Counter,
             "Commands run by callers with a valid key (or trusted ones), by command and "
             "answer status.");
  for (const auto& [labels, count] : c.requests) {
    const std::string status = std::to_string(labels.second);
    out.sample({{"command", labels.first}, {"status", status}}, static_cast<double>(count));
  }

  // Per worker process: the slots' processes and the replacements starting beside them.
  struct Row {
    std::string worker;
    std::string pid;
    commands::ProcessStats stats;
  };
  std::vector<Row> rows;
  if (snapshot.process_stats) {
    const auto add = [&](WorkerId id, Pid pid) {
      if (const auto stats = snapshot.process_stats(pid)) {
        rows.push_back({std::to_string(to_int(id)), std::to_string(to_int(pid)), *stats});
      }
    };
    for (const auto& w : snapshot.workers) {
      if (w.pid) add(w.id, *w.pid);
      if (w.incoming) add(w.id, w.incoming->pid);
    }
  }
  out.family("cservice_worker_resident_memory_bytes", MetricType::Gauge,
             "Resident memory of each worker process.");
  for (const auto& row : rows) {
    out.sample({{"group", group}, {"worker", row.worker}, {"pid", row.pid}},
               static_cast<double>(row.stats.rss_bytes));
  }
  out.family("cservice_worker_cpu_seconds_total", MetricType::Counter,
             "CPU time (user and system) of each worker process.");
  for (const auto& row : rows) {
    out.sample({{"group", group}, {"worker", row.worker}, {"pid", row.pid}}, row.stats.cpu_seconds);
  }
  return out.text();
}

}  // namespace cservice::metrics
