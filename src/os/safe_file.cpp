#include "os/safe_file.hpp"

#include "os/trusted_path.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace cservice::os {
namespace {

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

Result<SafeFile> SafeFile::open(std::string_view what, const std::string& path, int access,
                                FileKinds kinds) {
  const auto refuse = [&](std::string_view why) {
    return make_error(errc::bad_config, fmt::format("{} {}: {}", what, path, why));
  };
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") return refuse("not a file name");

  // No other user may re-point the path: not a directory of theirs above, nor a symbolic link
  // they planted on the way.
  if (auto trusted = trusted_directory(fmt::format("{} {}: directory", what, path), dir);
      !trusted) {
    return trusted.error();
  }
  UniqueFd directory(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!directory) return os_error(fmt::format("{} {}: directory {}", what, path, dir), errno);
  struct stat dir_stat {};
  if (::fstat(directory.get(), &dir_stat) != 0) {
    return os_error(fmt::format("{} {}: directory {}", what, path, dir), errno);
  }
  const bool shared = (dir_stat.st_mode & S_IWOTH) != 0;  // and sticky (trusted_directory)

  // O_NONBLOCK: a FIFO planted by someone else must not hang the start-up; it is cleared below.
  UniqueFd fd(::openat(directory.get(), name.c_str(),
                       access | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0644));
  if (!fd) {
    if (errno == ELOOP) return refuse("is a symbolic link; refusing to follow it");
    return os_error(fmt::format("{} {}", what, path), errno);
  }
  struct stat file_stat {};
  if (::fstat(fd.get(), &file_stat) != 0) return os_error(fmt::format("{} {}", what, path), errno);
  const bool regular = S_ISREG(file_stat.st_mode);
  if (!regular && kinds == FileKinds::RegularOnly) return refuse("not a regular file");
  if (regular && file_stat.st_nlink > 1) {
    return refuse(
        fmt::format("has {} hard links (the same file under another name); refusing "
                    "to write to it",
                    file_stat.st_nlink));
  }
  if (regular) {
    // Another user who may write the file could forge or erase what the master writes there.
    if (auto safe = check_not_writable_by_others(what, path, file_stat.st_mode, file_stat.st_uid,
                                                 file_stat.st_gid);
        !safe) {
      return safe.error();
    }
  }
  if (shared && file_stat.st_uid != ::geteuid()) {
    return refuse(
        fmt::format("owned by uid {} in directory {}, which others may write to; "
                    "refusing to write to it",
                    file_stat.st_uid, dir));
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return os_error(fmt::format("{} {}", what, path), errno);
  }
  return SafeFile{std::move(fd), std::move(directory), std::move(name), path};
}

bool SafeFile::is_still_at_its_name() const {
  struct stat by_fd {};
  struct stat by_name {};
  return ::fstat(fd.get(), &by_fd) == 0 &&
         ::fstatat(directory.get(), name.c_str(), &by_name, AT_SYMLINK_NOFOLLOW) == 0 &&
         same_file(by_fd, by_name);
}

}  // namespace cservice::os
