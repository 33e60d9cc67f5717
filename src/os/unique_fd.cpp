#include "os/unique_fd.hpp"

#include <cerrno>
#include <unistd.h>

namespace cservice::os {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

int UniqueFd::release() noexcept {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) {
    const int saved = errno;
    ::close(fd_);  // never retried: on Linux the descriptor is gone even after EINTR
    errno = saved;
  }
  fd_ = fd;
}

}  // namespace cservice::os
