#pragma once
// Readings of /proc about other processes: the master's children (for orphans reparented to
// it as a child subreaper), a process's environment, start time, parent and user. Each returns
// nothing when the process is gone or unreadable: callers treat that as "unknown", never as an
// error.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.hpp"

namespace cservice::os {

// The children of this process (of every thread), from /proc/self/task/*/children.
std::vector<Pid> own_children();

// Every descendant of `pid` (children, their children, ...), from /proc/PID/task/*/children;
// parents before their children.
std::vector<Pid> descendants(Pid pid);

// The value of `name` in the environment `pid` was exec'd with; nullopt if unset or unreadable
// (a zombie has no environment).
std::optional<std::string> environment_value(Pid pid, std::string_view name);

// When `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat).
std::optional<std::uint64_t> start_ticks(Pid pid);

// The parent of `pid` (field 4 of /proc/PID/stat).
std::optional<Pid> parent_of(Pid pid);

// The effective uid `pid` runs as (the second value of "Uid:" in /proc/PID/status).
std::optional<uid_t> effective_uid(Pid pid);

}  // namespace cservice::os
