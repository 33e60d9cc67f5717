#pragma once
// ControlFixture: what the control-plane harnesses (http_fuzzer, worker_channel_fuzzer) dispatch
// to. A ControlPlane over a Supervisor with two fake workers (no process is ever started), a
// Registry of harmless commands and an AccessPolicy with two keys. Built once per process and
// never destroyed; every input is handled from the same state, so a run is deterministic:
//   - read-only built-ins run: help, workers, health, info, version;
//   - built-ins that would act on the service (restart, upgrade, start, shutdown, exit) are
//     registered at level disabled, so their refusal is fuzzed but they never run;
//   - `echo` answers its arguments, as a custom command of a library-mode service may.
// It also installs a log sink that aborts on a line reporting one of our bugs (one starting
// "bug:"), so a command that throws or forgets to answer is a crash the fuzzer reports.

#include <string_view>

#include "control/control_plane.hpp"

namespace cservice::fuzz {

inline constexpr std::string_view kKey = "fuzz-key-0123456789";
inline constexpr std::string_view kLimitedKey = "limited-key";  // may run version and echo only

class ControlFixture {
 public:
  static ControlFixture& get();
  virtual ~ControlFixture() = default;
  virtual controlplane::ControlPlane& plane() = 0;
};

// Aborts, printing the outcome, unless it is an answer a caller may get from this fixture's
// harmless commands: 200, 400, 401, 404 or 405. A 500 here is a bug of ours.
void check_outcome(const controlplane::Outcome& outcome);

}  // namespace cservice::fuzz
