#include "app/master_client.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "base/json.hpp"
#include "commands/answer.hpp"
#include "os/unique_fd.hpp"

namespace cservice::app {
namespace {

using Clock = std::chrono::steady_clock;

Answer failure(int status, std::string error) {
  return commands::failure(status, std::move(error));
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits until `fd` is ready for `events` or the deadline passes.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

}  // namespace

Answer call_master(const std::string& name, const Args& args, std::chrono::milliseconds timeout) {
  const char* address = std::getenv("CSERVICE_CONTROL_SOCKET");
  if (address == nullptr || address[0] != '@') {
    return failure(503, "no master to ask: CSERVICE_CONTROL_SOCKET is not set (not a worker)");
  }
  const std::size_t length = std::strlen(address);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (length >= sizeof addr.sun_path) return failure(503, "CSERVICE_CONTROL_SOCKET is too long");
  std::memcpy(addr.sun_path, address, length);
  addr.sun_path[0] = '\0';  // abstract namespace
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  const auto deadline = Clock::now() + timeout;

  os::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return failure(503, fmt::format("master: socket: {}", std::strerror(errno)));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0 &&
      errno != EINPROGRESS && errno != EAGAIN) {
    return failure(503, fmt::format("master: connect: {}", std::strerror(errno)));
  }
  const std::string request = nlohmann::json{{"name", name}, {"args", args}}.dump(
                                  -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                              "\n";
  for (std::size_t sent = 0; sent < request.size();) {
    if (!wait_for(fd.get(), POLLOUT, deadline)) return failure(504, "master: no answer in time");
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return failure(503, fmt::format("master: send: {}", std::strerror(errno)));
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  while (answer.find('\n') == std::string::npos) {
    if (!wait_for(fd.get(), POLLIN, deadline)) {
      return failure(
          504, fmt::format("{}: no answer from the master within {} ms", name, timeout.count()));
    }
    char buffer[16 * 1024];
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return failure(503, fmt::format("master: receive: {}", std::strerror(errno)));
    }
    if (n == 0) return failure(503, "master: closed the connection without an answer");
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  answer.resize(answer.find('\n'));
  const auto parsed = parse_json(answer);
  if (parsed.is_discarded()) return failure(500, "master: malformed answer");
  return commands::answer_from_json(parsed);
}

}  // namespace cservice::app
