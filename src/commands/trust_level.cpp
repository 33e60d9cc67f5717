#include "commands/trust_level.hpp"

namespace cservice::commands {

const char* to_string(TrustLevel level) {
  switch (level) {
    case TrustLevel::Remote: return "remote";
    case TrustLevel::Local: return "local";
    case TrustLevel::Inproc: return "inproc";
    case TrustLevel::Disabled: return "disabled";
  }
  return "unknown";
}

std::optional<TrustLevel> parse_trust_level(std::string_view text) {
  for (const TrustLevel level :
       {TrustLevel::Remote, TrustLevel::Local, TrustLevel::Inproc, TrustLevel::Disabled}) {
    if (text == to_string(level)) return level;
  }
  return std::nullopt;
}

}  // namespace cservice::commands
