#pragma once
// SafeFile opens a file the master writes by a path someone else may have prepared for it: its
// pid file and log file, often in a directory other users can write to (the working directory
// of a deployment, /tmp). A master running as root that wrote through a planted symbolic link
// would truncate or append to any file of the system; SafeFile refuses:
//
//   - a symbolic link as the last component (O_NOFOLLOW);
//   - a directory another user could re-point or fill (trusted_path.hpp: it or one above it
//     owned by another user, or writable by others and not sticky);
//   - a regular file with other hard links (the same file under another name, /etc/shadow);
//   - a regular file owned by another user, or writable by other users (they could forge or
//     erase what the master writes);
//   - in a sticky directory others may write to (/tmp), a file owned by another user;
//   - a file that is no regular file, unless the caller accepts other kinds (FileKinds::Any:
//     a log file may be /dev/null or a FIFO).
//
// The file is created (mode 0644) if missing and never truncated here. Opening never blocks (a
// FIFO without a reader is an error, ENXIO); the descriptor returned is blocking again and
// close-on-exec, and the directory stays open beside it, for checks and removal by name.

#include <string>
#include <string_view>

#include "base/error.hpp"
#include "os/unique_fd.hpp"

namespace cservice::os {

enum class FileKinds { RegularOnly, Any };

struct SafeFile {
  UniqueFd fd;
  UniqueFd directory;  // the directory the file was opened in
  std::string name;    // its name there (the last component of the path)
  std::string path;    // as given

  // Opens `path` with `access` (O_WRONLY, O_RDWR, plus O_APPEND and the like). `what` names the
  // file in errors: "pid file cservice.pid: is a symbolic link; refusing to follow it".
  static Result<SafeFile> open(std::string_view what, const std::string& path, int access,
                               FileKinds kinds);

  // True while `name` in `directory` is still this file (nobody renamed another over it).
  bool is_still_at_its_name() const;
};

}  // namespace cservice::os
