#pragma once
// Release directories: a deploy tool keeps each release in its own directory and points a
// symbolic link (`current -> releases/20261128-1`) at the one to run, re-pointing it on the next
// deploy. A worker's program and working directory are resolved when they are chosen (service
// start, upgrade, start PROGRAM), so that every later restart of that worker runs the same
// release, whatever the link points to by then.

#include <string>
#include <string_view>

#include "base/error.hpp"

namespace cservice::os {

// `path` (absolute) with every symbolic link resolved, in its directories and its last
// component, and no "." or ".." left: what it leads to now. An error (errno's code) names
// `what` and both paths when they differ: "program /srv/current/server is
// /srv/releases/v9/server: No such file or directory" for a dangling `current`.
Result<std::string> real_path(std::string_view what, const std::string& path);

// Where `path` leads, as far as it can be followed: links resolved up to the first missing
// entry, a dangling link replaced by its target, the rest appended as written. For messages
// about a path that cannot be resolved.
std::string followed_path(const std::string& path);

// "path" when `resolved` is the same, else "path is resolved": how a message names both.
std::string path_and_target(const std::string& path, const std::string& resolved);

}  // namespace cservice::os
