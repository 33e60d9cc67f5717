#pragma once
// NotifySocket is the master's end of the notify protocol (notify_message.hpp): a unix datagram
// socket in the abstract namespace, passed to workers as NOTIFY_SOCKET=@name. The kernel stamps
// each datagram with the sender's pid and user (SO_PASSCRED), so a message is attributed to a
// worker, and one from any other process can be ignored. Oversized and malformed datagrams and
// passed descriptors are dropped (descriptors closed) without harm; the warnings about them are
// limited to one a second of each kind (any local process can send datagrams here), the next
// one saying how many were held back.

#include "base/error.hpp"
#include "base/ids.hpp"
#include "base/rate_limiter.hpp"
#include "runtime/notify_message.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <functional>
#include <memory>
#include <string>

namespace cservice::runtime {

class NotifySocket {
 public:
  // Called on the loop for each well-formed datagram, with the sender's credentials.
  using Handler = std::function<void(PeerCredentials sender, const NotifyMessage& message)>;

  // `clock` (for the warnings' rate limit) must outlive the socket.
  static Result<std::unique_ptr<NotifySocket>> open(boost::asio::io_context& io,
                                                    const Clock& clock, Handler handler);

  // The NOTIFY_SOCKET value for workers: "@cservice/<master pid>/<random>".
  const std::string& address() const { return address_; }

 private:
  NotifySocket(boost::asio::io_context& io, int fd, std::string address, const Clock& clock,
               Handler handler);
  void wait();
  void receive_all();

  boost::asio::posix::stream_descriptor socket_;
  std::string address_;
  Handler handler_;
  RateLimiter warnings_;
};

}  // namespace cservice::runtime
