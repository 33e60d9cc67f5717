#include "runtime/notify_socket.hpp"

#include "base/log.hpp"
#include "os/unique_fd.hpp"

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <random>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace cservice::runtime {

Result<std::unique_ptr<NotifySocket>> NotifySocket::open(boost::asio::io_context& io,
                                                          const Clock& clock, Handler handler) {
  os::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return os_error("notify socket", errno);
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0) {
    return os_error("notify socket: SO_PASSCRED", errno);
  }
  std::random_device random;
  const std::string name = fmt::format("cservice/{}/{:08x}", ::getpid(), random());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // Abstract namespace: a leading NUL; nothing on disk to clean up, gone with the master.
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    return os_error("notify socket: bind", errno);
  }
  std::unique_ptr<NotifySocket> socket(
      new NotifySocket(io, fd.release(), "@" + name, clock, std::move(handler)));
  socket->wait();
  return socket;
}

NotifySocket::NotifySocket(boost::asio::io_context& io, int fd, std::string address,
                           const Clock& clock, Handler handler)
    : socket_(io, fd),
      address_(std::move(address)),
      handler_(std::move(handler)),
      warnings_(clock) {}

void NotifySocket::wait() {
  socket_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [this](const boost::system::error_code& ec) {
                       if (ec) return;  // closed: the master is going away
                       receive_all();
                       wait();
                     });
}

void NotifySocket::receive_all() {
  // One byte more than the limit, so an oversized datagram shows as truncated.
  std::array<char, kMaxNotifyDatagram + 1> buffer;
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 16)>
      control;
  for (int budget = 64; budget > 0; --budget) {  // then yield to other work on the loop
    iovec iov{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    const ssize_t n = ::recvmsg(socket_.native_handle(), &msg,
                                MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      if (err == EAGAIN) return;
      if (const auto held = warnings_.admit("receive")) {
        log::warn("notify socket: {}{}", std::strerror(err), suppressed_note(*held));
      }
      return;
    }
    std::optional<PeerCredentials> sender;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred{};
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        sender = PeerCredentials{Pid{cred.pid}, cred.uid};
      } else if (c->cmsg_type == SCM_RIGHTS) {
        // We store no descriptors (no FDSTORE): close what was sent, or it leaks.
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
          int passed = -1;
          std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
          os::UniqueFd closer(passed);
        }
      }
    }
    if (static_cast<std::size_t>(n) > kMaxNotifyDatagram || (msg.msg_flags & MSG_TRUNC) != 0) {
      if (const auto held = warnings_.admit("oversized")) {
        log::warn("notify socket: dropped a datagram of {} bytes (limit {}){}", n,
                  kMaxNotifyDatagram, suppressed_note(*held));
      }
      continue;
    }
    if (!sender) continue;
    auto message = parse_notify(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    if (!message) {
      if (const auto held = warnings_.admit("malformed")) {
        log::warn("notify socket: dropped a malformed datagram from pid {}{}", to_int(sender->pid),
                  suppressed_note(*held));
      }
      continue;
    }
    handler_(*sender, *message);
  }
}

}  // namespace cservice::runtime
