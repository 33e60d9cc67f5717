#include "cservice/worker.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <thread>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace cservice {
namespace {

constexpr int kFirstListenFd = 3;  // SD_LISTEN_FDS_START

long env_number(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return -1;
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(value, &end, 10);
  if (errno != 0 || *end != '\0' || n < 0) return -1;
  return n;
}

std::vector<ListenSocket> read_listen_sockets() {
  std::vector<ListenSocket> sockets;
  // LISTEN_PID guards against variables inherited by a child that did not get the sockets.
  if (env_number("LISTEN_PID") != static_cast<long>(::getpid())) return sockets;
  const long count = env_number("LISTEN_FDS");
  if (count <= 0 || count > 1024) return sockets;
  const char* names_env = std::getenv("LISTEN_FDNAMES");
  std::string_view names = names_env != nullptr ? names_env : "";
  for (long i = 0; i < count; ++i) {
    const int fd = kFirstListenFd + static_cast<int>(i);
    const auto colon = names.find(':');
    std::string name(names.substr(0, colon));
    names.remove_prefix(colon == std::string_view::npos ? names.size() : colon + 1);
    if (name.empty()) name = "unknown";
    // As sd_listen_fds does: our programs' own children must not inherit these.
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) continue;
    ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    sockets.push_back({fd, std::move(name)});
  }
  return sockets;
}

// on_stop(): the signal handler only writes to this pipe (async-signal-safe); a thread reads it
// and runs the callback outside the handler.
std::atomic<int> stop_pipe_write{-1};

void on_stop_signal(int) {
  const int saved = errno;
  const int fd = stop_pipe_write.load();
  if (fd >= 0) {
    const char byte = 1;
    [[maybe_unused]] const auto ignored = ::write(fd, &byte, 1);
  }
  errno = saved;
}

}  // namespace

bool on_stop(std::function<void()> callback) {
  static std::atomic<bool> installed{false};
  if (!callback || installed.exchange(true)) return false;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    installed = false;
    return false;
  }
  // The read end blocks (the thread waits on it); the write end never blocks a handler.
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) & ~O_NONBLOCK);
  stop_pipe_write = fds[1];
  const long configured = env_number("CSERVICE_STOP_SIGNAL");
  const int stop_signal = configured > 0 && configured < NSIG ? static_cast<int>(configured) : SIGTERM;
  std::thread([read_fd = fds[0], callback = std::move(callback)] {
    char byte = 0;
    ssize_t n;
    do {
      n = ::read(read_fd, &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1) callback();
  }).detach();
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  return ::sigaction(stop_signal, &action, nullptr) == 0 &&
         (stop_signal == SIGINT || ::sigaction(SIGINT, &action, nullptr) == 0);
}

bool is_worker() noexcept { return worker_id() > 0; }

int worker_id() noexcept {
  const long id = env_number("CSERVICE_WORKER_ID");
  return id > 0 && id < 1'000'000 ? static_cast<int>(id) : 0;
}

bool notify(std::string_view message) noexcept {
  const char* address = std::getenv("NOTIFY_SOCKET");
  if (address == nullptr || address[0] == '\0') return false;
  const std::size_t length = std::strlen(address);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if ((address[0] != '/' && address[0] != '@') || length >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, address, length);
  if (address[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t sent;
  do {
    sent = ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                    reinterpret_cast<const sockaddr*>(&addr), addr_len);
  } while (sent < 0 && errno == EINTR);
  ::close(fd);
  return sent == static_cast<ssize_t>(message.size());
}

bool worker_ready(bool ready) noexcept { return notify(ready ? "READY=1" : "READY=0"); }

bool worker_status(std::string_view text) noexcept {
  try {
    std::string message = "STATUS=";
    message += text;
    for (std::size_t i = 7; i < message.size(); ++i) {
      if (message[i] == '\n' || message[i] == '\0') message[i] = ' ';
    }
    return notify(message);
  } catch (...) {  // allocation failure: the status is best effort
    return false;
  }
}

bool worker_stopping() noexcept { return notify("STOPPING=1"); }

const std::vector<ListenSocket>& listen_sockets() {
  static const std::vector<ListenSocket> sockets = read_listen_sockets();
  return sockets;
}

int listen_fd(std::string_view name) {
  for (const auto& socket : listen_sockets()) {
    if (name.empty() || socket.name == name) return socket.fd;
  }
  return -1;
}

}  // namespace cservice
