#include "os/trusted_path.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace cservice::os {

namespace {

bool is_ours(unsigned uid) { return uid == 0 || uid == ::geteuid(); }

bool group_is_ours(unsigned gid) { return gid == 0 || gid == ::getegid(); }

// Whether users other than root and ours may write to something with `mode` and group `gid`.
bool writable_by_others(unsigned mode, unsigned gid) {
  return (mode & S_IWOTH) != 0 || ((mode & S_IWGRP) != 0 && !group_is_ours(gid));
}

}  // namespace

Result<void> check_not_writable_by_others(std::string_view what, const std::string& path,
                                          unsigned mode, unsigned uid, unsigned gid) {
  if (!is_ours(uid)) {
    return make_error(errc::bad_config,
                      fmt::format("{} {} is owned by uid {}, not by root or this user: refused, "
                                  "as that user could change it",
                                  what, path, uid));
  }
  if (writable_by_others(mode, gid)) {
    return make_error(errc::bad_config,
                      fmt::format("{} {} is writable by other users (mode {:04o}, group {}): "
                                  "refused, as they could change it (chmod go-w)",
                                  what, path, mode & 07777, gid));
  }
  return {};
}

Result<std::string> trusted_directory(std::string_view what, const std::string& directory) {
  char resolved[PATH_MAX];
  if (::realpath(directory.c_str(), resolved) == nullptr) {
    return os_error(fmt::format("{} {}", what, directory), errno);
  }
  const std::string canonical = resolved;
  // "/", then each directory below it down to the canonical path itself.
  std::string::size_type end = 0;
  for (;;) {
    const std::string step = end == 0 ? "/" : canonical.substr(0, end);
    struct stat info {};
    if (::stat(step.c_str(), &info) != 0) {
      return os_error(fmt::format("{} {}: {}", what, directory, step), errno);
    }
    if (!S_ISDIR(info.st_mode)) {
      return make_error(errc::bad_config,
                        fmt::format("{} {}: {} is not a directory", what, directory, step));
    }
    if (!is_ours(info.st_uid)) {
      return make_error(
          errc::bad_config,
          fmt::format("{} {}: {} is owned by uid {}, not by root or this user: refused, as "
                      "that user could re-point what the path leads to",
                      what, directory, step, info.st_uid));
    }
    if (writable_by_others(info.st_mode, info.st_gid) && (info.st_mode & S_ISVTX) == 0) {
      return make_error(
          errc::bad_config,
          fmt::format("{} {}: {} is writable by other users and not sticky (mode {:04o}): "
                      "refused, as they could replace what it holds (chmod go-w)",
                      what, directory, step, info.st_mode & 07777));
    }
    if (end == canonical.size()) break;
    end = canonical.find('/', end + 1);
    if (end == std::string::npos) end = canonical.size();
  }
  return canonical;
}

}  // namespace cservice::os
