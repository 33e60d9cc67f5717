#pragma once
// Signal names: "SIGTERM", "TERM", "term" and "15" all name the same signal.

#include "base/error.hpp"

#include <string>
#include <string_view>

namespace cservice::os {

Result<int> parse_signal(std::string_view text);
std::string signal_name(int signal);  // "SIGTERM"; "signal 64" when it has no name

}  // namespace cservice::os
