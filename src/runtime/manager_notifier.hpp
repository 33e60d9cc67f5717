#pragma once
// ManagerNotifier is the master's side of the notify protocol towards its own service manager
// (sd_notify(3)), when it runs as a systemd service with Type=notify: one datagram per message
// to the unix socket that NOTIFY_SOCKET names (a path, or "@name" in the abstract namespace).
// The Runtime decides what to say (READY=1, STATUS=, RELOADING=1, STOPPING=1); this class only
// says it, never blocking the loop: a datagram the socket cannot take at once is dropped with a
// warning (the next STATUS= says it again), as sd_notify does with a full socket.
// With WATCHDOG_USEC set (and WATCHDOG_PID unset or naming the master) it also sends WATCHDOG=1
// every WATCHDOG_USEC/2 from the loop: a master whose loop hangs stops pinging, and systemd
// kills and restarts the service.
// Loop thread only.

#include "base/clock.hpp"
#include "base/error.hpp"
#include "os/unique_fd.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/un.h>

namespace cservice::runtime {

class ManagerNotifier {
 public:
  // From NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID in the master's environment, which are
  // then removed from it (nothing the master starts may take them for its own). nullptr when
  // NOTIFY_SOCKET is absent; an error when it cannot be used (a bad address).
  static Result<std::unique_ptr<ManagerNotifier>> from_environment(boost::asio::io_context& io);

  // Sends `message` ("READY=1\nSTATUS=4/4 workers ready"). Never blocks.
  void send(std::string_view message);
  // READY=1 with STATUS=`status`: the service is up, or a reload has ended.
  void ready(const std::string& status);
  bool has_sent_ready() const { return ready_sent_; }
  // STATUS=`status`, unless it is what was sent last.
  void status(const std::string& status);
  // RELOADING=1 with MONOTONIC_USEC (the time of CLOCK_MONOTONIC now), as a reload begins.
  void reloading(const std::string& status);
  // STOPPING=1 once, as the service begins to stop.
  void stopping();

  // Starts the WATCHDOG=1 pings if the manager asked for them.
  void start_watchdog();
  std::optional<Milliseconds> watchdog_interval() const { return watchdog_interval_; }
  const std::string& address() const { return address_; }

 private:
  ManagerNotifier(boost::asio::io_context& io, os::UniqueFd fd, sockaddr_un addr,
                  socklen_t addr_len, std::string address,
                  std::optional<Milliseconds> watchdog_interval);
  void ping();

  os::UniqueFd fd_;
  sockaddr_un addr_;
  socklen_t addr_len_;
  std::string address_;
  std::optional<Milliseconds> watchdog_interval_;
  boost::asio::steady_timer watchdog_timer_;
  std::string last_status_;
  bool ready_sent_ = false;
  bool stopping_sent_ = false;
  bool warned_ = false;  // one warning for the first dropped datagram, not one each
};

}  // namespace cservice::runtime
