#include "commands/registry.hpp"

namespace cservice::commands {

Command version_command() {
  return {
      "version",
      "version",
      "The version of cservice.",
      TrustLevel::Remote,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>&, Reply reply) {
        reply.ok({{"version", context.version}});
      },
      /*max_args=*/0,
  };
}

}  // namespace cservice::commands
