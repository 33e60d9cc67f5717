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
  // Published whoever listens: the log and the event stream's followers see every event. A
  // name nothing subscribes to is still answered 404, so that a misspelt command does not pass
  // for an event.
  const std::size_t subscribers = events.subscribers_of(name);
  events.publish({name, nlohmann::json(std::move(args))});
  if (subscribers == 0) {
    done(commands::failure(
        404, fmt::format("unknown command '{}', and no subscriber of an event of that name (it "
                         "was published to the log and the event stream only)",
                         name)));
    return;
  }
  done({200, {{"event", name}, {"subscribers", subscribers}}, {}});
}

}  // namespace cservice::app
