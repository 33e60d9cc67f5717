#include "app/test_runner.hpp"

#include <memory>

namespace cservice::app {

commands::TestRunner test_runner(runtime::Runtime& rt, std::vector<std::string> env) {
  auto shared_env = std::make_shared<const std::vector<std::string>>(std::move(env));
  return [&rt, shared_env](commands::TestRun run, std::function<void(commands::TestOutcome)> done) {
    const TimePoint started = rt.clock().now();
    runtime::RunSpec spec{run.script, std::move(run.args), *shared_env, run.timeout,
                          runtime::Capture::MergedTail};
    return rt.run_program(spec, [&rt, started, done = std::move(done)](runtime::ProgramResult result) {
      done({result.status, result.timed_out, std::move(result.out), result.truncated,
            std::move(result.start_error),
            std::chrono::duration_cast<Milliseconds>(rt.clock().now() - started)});
    });
  };
}

}  // namespace cservice::app
