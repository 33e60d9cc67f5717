#pragma once
// The service's test runner (Context::run_test): runs a test script through the runtime, as a
// directory command runs, with `env` as its whole environment (see command_environment), stdout
// and stderr captured together and their tail kept, and the run's time-out applied to its whole
// process group. Loop thread only; `rt` must outlive the runner.

#include <string>
#include <vector>

#include "commands/test_run.hpp"
#include "runtime/runtime.hpp"

namespace cservice::app {

commands::TestRunner test_runner(runtime::Runtime& rt, std::vector<std::string> env);

}  // namespace cservice::app
