// recovery_bench: how long after a worker is SIGKILLed its replacement is running.
//
//   recovery_bench [iterations=200] [restartDelayMs=100]
//
// Runs the real cservice with one hello_worker on a loopback port and, each iteration, SIGKILLs
// the worker and times (from the kill) the master's workerExit event, the replacement's
// workerStart event (exec done) and its ready line (READY=1: accepting connections), as the
// master logs them. The restart delay is
// subtracted, so the figures are what the supervisor adds. Observing through the log pipe adds
// a little to every figure: they are upper bounds.

#include "service_process.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace cservice::testing;

namespace {

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

void report(const char* what, const std::vector<double>& ms) {
  std::printf("%-28s p50 %7.3f ms  p90 %7.3f ms  p99 %7.3f ms  max %7.3f ms  (n=%zu)\n", what,
              percentile(ms, 0.5), percentile(ms, 0.9), percentile(ms, 0.99),
              *std::max_element(ms.begin(), ms.end()), ms.size());
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 200;
  const int delay_ms = argc > 2 ? std::atoi(argv[2]) : 100;
  ServiceProcess service({"--workers", "1", "--listen", "127.0.0.1:0", "--restart-delay-ms",
                          std::to_string(delay_ms), "--restarts-per-minute", "100000",
                          hello_worker_binary()});
  const std::string ready = R"(worker 1 pid (\d+): starting -> ready)";
  auto first = service.wait_for(ready, 10s, "the first worker ready");
  if (!first) return 1;
  pid_t pid = std::stoi((*first)[1]);

  std::vector<double> to_exit;
  std::vector<double> to_start;
  std::vector<double> to_ready;
  const auto delay = std::chrono::milliseconds(delay_ms);
  for (int i = 0; i < iterations; ++i) {
    const auto killed = Clock::now();
    ::kill(pid, SIGKILL);
    const auto exited = service.wait_for(R"(event workerExit )", 10s, "the exit event");
    const auto exited_at = Clock::now();
    const auto started = service.wait_for(R"(event workerStart \{"pid":(\d+),"reason":"restart")",
                                          10s, "the replacement's start");
    const auto started_at = Clock::now();
    const auto is_ready = service.wait_for(ready, 10s, "the replacement ready");
    const auto ready_at = Clock::now();
    if (!exited || !started || !is_ready) return 1;
    pid = std::stoi((*is_ready)[1]);
    using Ms = std::chrono::duration<double, std::milli>;
    to_exit.push_back(Ms(exited_at - killed).count());
    to_start.push_back(Ms(started_at - killed - delay).count());
    to_ready.push_back(Ms(ready_at - killed - delay).count());
  }
  std::printf("SIGKILL -> replacement, minus restartDelayMs=%d, %d kills\n", delay_ms, iterations);
  report("exit seen (not minus delay)", to_exit);
  report("running (workerStart)", to_start);
  report("ready (READY=1)", to_ready);
  service.signal(SIGTERM);
  return service.wait_exit(10s) == 0 ? 0 : 1;
}
