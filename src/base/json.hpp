#pragma once
// Parsing JSON that comes from outside (a worker's line, a command's output, a command line):
// nlohmann::json parses iteratively, but copying, serializing and destroying a value recurse, so
// text nested a few thousand levels deep would overflow the master's stack long after it was
// parsed. parse_json refuses text nested deeper than `max_depth` before it becomes a value.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string_view>

namespace cservice {

inline constexpr std::size_t kMaxJsonDepth = 128;

// The value of `text`, or a discarded value (is_discarded()) if it is not JSON or is nested
// deeper than `max_depth` arrays and objects.
nlohmann::json parse_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

}  // namespace cservice
