#pragma once
// One request line of the worker channel (worker_channel.hpp, protocol version
// kWorkerChannelVersion), without its newline: {"name": "workers", "args": ["simple"]}, "args"
// optional. Declared here so the fuzz harness can reach the parser; the channel is its only
// other caller.

#include "base/error.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace cservice::controlplane {

// The command or event name (non-empty) and its arguments, or a bad_request error whose
// message the channel sends back in its 400 answer.
Result<std::pair<std::string, std::vector<nlohmann::json>>> parse_request(const std::string& line);

}  // namespace cservice::controlplane
