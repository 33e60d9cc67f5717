#include "app/running.hpp"

#include <fmt/format.h>

namespace cservice::app {

void Running::trigger(const std::string& name, std::vector<nlohmann::json> args,
                      controlplane::Caller caller,
                      std::function<void(controlplane::Outcome)> done) {
  if (registry.find(name) != nullptr) {
    control_plane.run_trusted(name, std::move(args), std::move(caller), std::move(done));
    return;
  }
  const std::size_t subscribers = events.subscribers_of(name);
  if (subscribers == 0) {
    done(commands::failure(
        404, fmt::format("unknown command '{}', and no subscriber of an event of that name", name)));
    return;
  }
  events.publish({name, nlohmann::json(std::move(args))});
  done({200, {{"event", name}, {"subscribers", subscribers}}, {}});
}

}  // namespace cservice::app
