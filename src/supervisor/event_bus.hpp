#pragma once
// EventBus carries the service's events (workerStart, workerExit, and custom ones raised with
// trigger) to every subscriber: the log, library callbacks, later the event stream. Runs on the
// master's loop; subscribers are called in the order they subscribed, synchronously, and must
// not throw.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace cservice::supervisor {

struct Event {
  std::string name;     // "workerStart"
  nlohmann::json data;  // {"worker": 1, "pid": 1234, "reason": "start"}; custom: the args array
};

class EventBus {
 public:
  using Handler = std::function<void(const Event&)>;
  // Every event.
  void subscribe(Handler handler) { handlers_.push_back({"", std::move(handler)}); }
  // Events called `name` only.
  void subscribe(std::string name, Handler handler) {
    handlers_.push_back({std::move(name), std::move(handler)});
  }
  // How many subscribers asked for `name` by name (those of every event are not counted).
  std::size_t subscribers_of(const std::string& name) const {
    return static_cast<std::size_t>(std::count_if(
        handlers_.begin(), handlers_.end(), [&](const Entry& e) { return e.name == name; }));
  }
  // Drops every subscriber (when they are about to go away before the bus).
  void clear() { handlers_.clear(); }
  void publish(const Event& event) const {
    for (const auto& entry : handlers_) {
      if (entry.name.empty() || entry.name == event.name) entry.handler(event);
    }
  }

 private:
  struct Entry {
    std::string name;  // empty: every event
    Handler handler;
  };
  std::vector<Entry> handlers_;
};

}  // namespace cservice::supervisor
