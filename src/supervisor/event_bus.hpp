#pragma once
// EventBus carries the service's events (workerStart, workerExit, and later custom ones) to
// every subscriber: the log, library callbacks, the event stream. Runs on the master's loop;
// subscribers are called in the order they subscribed, synchronously, and must not throw.

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace cservice::supervisor {

struct Event {
  std::string name;     // "workerStart"
  nlohmann::json data;  // {"worker": 1, "pid": 1234, "reason": "start"}
};

class EventBus {
 public:
  using Handler = std::function<void(const Event&)>;
  void subscribe(Handler handler) { handlers_.push_back(std::move(handler)); }
  void publish(const Event& event) const {
    for (const auto& handler : handlers_) handler(event);
  }

 private:
  std::vector<Handler> handlers_;
};

}  // namespace cservice::supervisor
