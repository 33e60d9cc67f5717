#include "commands/registry.hpp"
#include "supervisor/supervisor.hpp"

namespace cservice::commands {

Command health_command() {
  return {
      "health",
      "health",
      "The service's health: ok, degraded (a worker is not ready), mixed (workers run different "
      "programs, after `upgrade PID` or `start PROGRAM`) or crash-loop (a worker failed too "
      "often and is no longer restarted), with the reason. A service may override it.",
      TrustLevel::Remote,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>&, Reply reply) {
        const auto health = context.supervisor.health();
        nlohmann::json result = {{"health", supervisor::to_string(health.state)}};
        if (!health.reason.empty()) result["reason"] = health.reason;
        reply.ok(std::move(result));
      },
      /*max_args=*/0,
  };
}

}  // namespace cservice::commands
