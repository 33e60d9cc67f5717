#include "os/pid_file.hpp"

#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <string_view>

namespace cservice::os {
namespace {

// A holder whose file was removed between our open and our lock, and a new daemon that
// created the file again meanwhile, are each worth one more try; more means a fight.
constexpr int kClaimAttempts = 3;

std::optional<Pid> read_pid(int fd) {
  std::array<char, 32> buffer{};
  ssize_t n;
  while ((n = ::pread(fd, buffer.data(), buffer.size(), 0)) < 0 && errno == EINTR) {
  }
  if (n <= 0) return std::nullopt;
  std::string_view text(buffer.data(), static_cast<std::size_t>(n));
  if (const auto end = text.find('\n'); end != std::string_view::npos) text = text.substr(0, end);
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || end != text.data() + text.size() || pid <= 0) return std::nullopt;
  return Pid{pid};
}

}  // namespace

Result<PidFile> PidFile::claim(const std::string& path) {
  for (int attempt = 0; attempt < kClaimAttempts; ++attempt) {
    auto file = SafeFile::open("pid file", path, O_RDWR, FileKinds::RegularOnly);
    if (!file) return file.error();
    const int fd = file->fd.get();
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) return os_error(fmt::format("pid file {}: lock", path), errno);
      // The holder may be between truncating the file and writing its pid: then it has none.
      const auto holder = read_pid(fd);
      return make_error(errc::busy, holder ? fmt::format("another cservice (pid {}) holds {}",
                                                         to_int(*holder), path)
                                           : fmt::format("another cservice holds {}", path));
    }
    // A holder that was exiting may have removed the file between our open and our lock: a
    // lock on a file nobody can find by its name any more protects nothing. Try again.
    if (!file->is_still_at_its_name()) continue;
    const auto stale = read_pid(fd);
    const std::string text = fmt::format("{}\n", ::getpid());
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
      return os_error(fmt::format("pid file {}: write", path), errno);
    }
    return PidFile(std::move(*file), stale);
  }
  return make_error(errc::busy, fmt::format("pid file {}: replaced again and again while being "
                                            "claimed; is another cservice starting?",
                                            path));
}

PidFile::~PidFile() {
  if (!file_.fd) return;  // moved from
  // Only our own file: if someone renamed another over it, that one is not ours to remove.
  if (file_.is_still_at_its_name()) ::unlinkat(file_.directory.get(), file_.name.c_str(), 0);
  // Closing the descriptor (file_'s destructor) releases the lock.
}

}  // namespace cservice::os
