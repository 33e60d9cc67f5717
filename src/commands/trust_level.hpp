#pragma once
// Trust levels, lowest to highest: remote (any peer with the key), local (a peer on loopback or
// a network configured as local), inproc (the master's own console and library code). A command
// has a required level: a caller may run it when the caller's level is at least that. Disabled
// turns a command off for everyone.

#include <optional>
#include <string_view>

namespace cservice::commands {

enum class TrustLevel { Remote = 0, Local = 1, Inproc = 2, Disabled = 3 };

const char* to_string(TrustLevel level);
std::optional<TrustLevel> parse_trust_level(std::string_view text);

// True if a caller at `caller` may run a command that requires `required`.
constexpr bool may_call(TrustLevel caller, TrustLevel required) {
  return required != TrustLevel::Disabled && static_cast<int>(caller) >= static_cast<int>(required);
}

}  // namespace cservice::commands
