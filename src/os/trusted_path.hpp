#pragma once
// Whether another user could change what a path leads to. A master running as root that runs
// the commands of a directory, or writes its pid and log files in one, must not do so through a
// path that someone else can re-point: rename a directory of theirs higher up, swap in their own
// files, plant a symbolic link. A directory is trusted when it, and every directory above it
// (symbolic links resolved), is owned by root or this process's user, and is not writable by
// other users (by others, or by a group other than root's and ours) unless it is sticky, as /tmp
// is: there nobody may rename or remove an entry of another's.

#include <string>
#include <string_view>

#include "base/error.hpp"

namespace cservice::os {

// The canonical path of `directory` (symbolic links resolved) if it is trusted; otherwise an
// error naming `what` ("commands directory"), the directory at fault, its owner or mode, and why.
Result<std::string> trusted_directory(std::string_view what, const std::string& directory);

// Whether an existing file with `mode`, owned by `uid`:`gid`, can be changed by other users than
// root and this process's (writable by others, or by a group other than root's and ours). An
// error naming `what` and `path` if so.
Result<void> check_not_writable_by_others(std::string_view what, const std::string& path,
                                          unsigned mode, unsigned uid, unsigned gid);

}  // namespace cservice::os
