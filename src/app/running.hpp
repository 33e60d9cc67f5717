#pragma once
// Running: the parts of a serving master that code beside the built-ins uses (library mode, the
// worker channel): its loop, commands, events and control plane. It exists while serve() runs;
// loop thread only.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "commands/registry.hpp"
#include "control/control_plane.hpp"
#include "supervisor/event_bus.hpp"

namespace cservice::app {

struct Running {
  boost::asio::io_context& io;
  commands::Registry& registry;
  supervisor::EventBus& events;
  controlplane::ControlPlane& control_plane;
  Milliseconds command_timeout;  // commandTimeoutMs

  // The original's trigger: runs command `name` for `caller` (only its level is checked), or,
  // when there is no such command, raises event `name` with `args` as its data to its
  // subscribers, the log and the event stream. With neither a command nor a subscriber of that
  // name, the answer is 404 (the event is published all the same).
  void trigger(const std::string& name, std::vector<nlohmann::json> args,
               controlplane::Caller caller, std::function<void(controlplane::Outcome)> done);
};

// What library mode adds to serve(); serve mode passes none.
struct ServeHooks {
  // On the loop thread, once the control plane exists and before the first worker starts.
  std::function<void(Running&)> on_running;
  // After the loop has ended, before serve() returns (on the same thread).
  std::function<void()> on_stopped;
};

}  // namespace cservice::app
