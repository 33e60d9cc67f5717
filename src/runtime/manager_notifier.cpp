#include "runtime/manager_notifier.hpp"

#include "base/log.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <unistd.h>

namespace cservice::runtime {
namespace {

std::optional<std::uint64_t> parse_number(const char* text) {
  if (text == nullptr) return std::nullopt;
  const std::string_view view(text);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), value);
  if (view.empty() || ec != std::errc() || end != view.data() + view.size()) return std::nullopt;
  return value;
}

}  // namespace

Result<std::unique_ptr<ManagerNotifier>> ManagerNotifier::from_environment(
    boost::asio::io_context& io) {
  const char* socket_text = std::getenv("NOTIFY_SOCKET");
  const std::string address = socket_text ? socket_text : "";
  const auto watchdog_usec = parse_number(std::getenv("WATCHDOG_USEC"));
  const auto watchdog_pid = parse_number(std::getenv("WATCHDOG_PID"));
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  if (socket_text == nullptr) return std::unique_ptr<ManagerNotifier>();

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // "@name" is the abstract namespace: a leading NUL, and the length says where the name ends.
  if (address.size() < 2 || (address.front() != '/' && address.front() != '@') ||
      address.size() >= sizeof addr.sun_path) {
    return make_error(errc::bad_config,
                      fmt::format("NOTIFY_SOCKET '{}': not a socket path or @name", address));
  }
  std::memcpy(addr.sun_path, address.data(), address.size());
  if (address.front() == '@') addr.sun_path[0] = '\0';
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() +
                                          (address.front() == '/' ? 1 : 0));
  os::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return os_error("NOTIFY_SOCKET: socket", errno);

  std::optional<Milliseconds> interval;
  if (watchdog_usec && *watchdog_usec > 0 &&
      (!watchdog_pid || *watchdog_pid == static_cast<std::uint64_t>(::getpid()))) {
    // Half the manager's timeout, as sd_watchdog_enabled(3) advises; at least a millisecond.
    interval = Milliseconds(std::max<std::uint64_t>(*watchdog_usec / 2000, 1));
  }
  return std::unique_ptr<ManagerNotifier>(
      new ManagerNotifier(io, std::move(fd), addr, len, address, interval));
}

ManagerNotifier::ManagerNotifier(boost::asio::io_context& io, os::UniqueFd fd, sockaddr_un addr,
                                 socklen_t addr_len, std::string address,
                                 std::optional<Milliseconds> watchdog_interval)
    : fd_(std::move(fd)),
      addr_(addr),
      addr_len_(addr_len),
      address_(std::move(address)),
      watchdog_interval_(watchdog_interval),
      watchdog_timer_(io) {}

void ManagerNotifier::send(std::string_view message) {
  ssize_t sent = -1;
  do {
    sent = ::sendto(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                    reinterpret_cast<const sockaddr*>(&addr_), addr_len_);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0 && !warned_) {
    const int err = errno;
    warned_ = true;
    log::warn("{} (later failures are not logged)",
              os_error(fmt::format("notify {}", address_), err).message);
  }
}

void ManagerNotifier::ready(const std::string& status) {
  ready_sent_ = true;
  last_status_ = status;
  send("READY=1\nSTATUS=" + status);
}

void ManagerNotifier::status(const std::string& status) {
  if (status == last_status_) return;
  last_status_ = status;
  send("STATUS=" + status);
}

void ManagerNotifier::reloading(const std::string& status) {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<std::uint64_t>(now.tv_sec) * 1000000u +
                    static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
  last_status_ = status;
  send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS={}", usec, status));
}

void ManagerNotifier::stopping() {
  if (stopping_sent_) return;
  stopping_sent_ = true;
  last_status_ = "stopping";
  send("STOPPING=1\nSTATUS=stopping");
}

void ManagerNotifier::start_watchdog() {
  if (!watchdog_interval_) return;
  log::info("watchdog: WATCHDOG=1 every {} ms", watchdog_interval_->count());
  ping();
}

void ManagerNotifier::ping() {
  send("WATCHDOG=1");
  watchdog_timer_.expires_after(*watchdog_interval_);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) ping();
  });
}

}  // namespace cservice::runtime
