#pragma once
// The knobs of the supervisor's state machine. Filled from the options (config/), read only by
// Supervisor. Plain data: no OS, no I/O.

#include "base/clock.hpp"

#include <cstdint>

namespace cservice::supervisor {

// When a worker counts as ready (DESIGN.md §3).
enum class ReadyMode {
  // READY=1 makes it ready; any other known notify message first holds it until READY=1 or the
  // ready timeout; a worker that says nothing is ready once it has lived `ready_grace`.
  Auto,
  Notify,   // only READY=1, within the ready timeout (programs written for systemd)
  Started,  // ready as soon as exec succeeded
};

struct Policy {
  std::uint32_t worker_count = 1;
  bool restart_on_failure = true;
  Milliseconds restart_delay{100};
  std::uint32_t restarts_per_minute = 10;  // per worker slot, in a sliding minute
  ReadyMode ready_mode = ReadyMode::Auto;
  Milliseconds ready_timeout{30000};
  Milliseconds ready_grace{500};
  Milliseconds stop_timeout{10000};
  double restart_concurrency_ratio = 0.33;  // rollouts replace 1 + floor(n * ratio) at a time
  Milliseconds upgrade_monitor{1000};       // how long the first upgraded worker is watched
};

}  // namespace cservice::supervisor
