// spawn_bench: the cost of starting one worker process (os::spawn: fork, the child's set-up,
// exec, and the wait for the exec to succeed), then reaping it. Google Benchmark.
//
//   spawn_bench [--benchmark_repetitions=5]

#include "os/spawn.hpp"

#include <benchmark/benchmark.h>

#include <sys/wait.h>

namespace {

void BM_SpawnAndReap(benchmark::State& state) {
  cservice::os::SpawnSpec spec;
  spec.program = "/bin/true";
  spec.env = {"PATH=/usr/bin:/bin"};
  for (auto _ : state) {
    auto child = cservice::os::spawn(spec);
    if (!child) {
      state.SkipWithError(child.error().message.c_str());
      break;
    }
    int status = 0;
    ::waitpid(cservice::to_int(child->pid()), &status, 0);
    child->mark_reaped();
  }
}
BENCHMARK(BM_SpawnAndReap)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
