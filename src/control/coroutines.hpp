#pragma once
// What the control plane's coroutine servers (the HTTP server, the worker channel) share: the
// accept loop that gives each connection a coroutine of its own, and the slot in which a
// handler's answer, given at once or much later through a callback, waits for its connection.
// Loop thread only.

#include "base/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace cservice::controlplane {

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

// Accepts connections until `closed` is set (or the acceptor closed), running `serve(socket)`
// for each as a coroutine of its own. An accept error such as EMFILE is logged and the loop
// goes on serving the connections it has; an exception that ends a connection is logged, naming
// `what`, and never crosses the loop.
template <class Acceptor, class Serve>
boost::asio::awaitable<void> accept_connections(Acceptor& acceptor, const bool& closed,
                                                std::string what, Serve serve) {
  bool failing = false;
  while (!closed) {
    auto [error, socket] = co_await acceptor.async_accept(use_tuple);
    if (error) {
      if (error == boost::asio::error::operation_aborted || closed) co_return;
      // Out of descriptors (EMFILE) the listener stays readable: retrying at once would spin
      // the loop. Pause, and say so once per run of failures.
      if (!failing) log::warn("control: {}: accept: {} (pausing)", what, error.message());
      failing = true;
      boost::asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    failing = false;
    boost::asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)),
                          [what](const std::exception_ptr& e) {
                            if (!e) return;
                            try {
                              std::rethrow_exception(e);
                            } catch (const std::exception& ex) {
                              log::error("control: {} connection failed: {}", what, ex.what());
                            }
                          });
  }
}

// Counts one connection for as long as it lives.
class CountedConnection {
 public:
  explicit CountedConnection(std::size_t& count) : count_(count) { ++count_; }
  ~CountedConnection() { --count_; }
  CountedConnection(const CountedConnection&) = delete;
  CountedConnection& operator=(const CountedConnection&) = delete;

 private:
  std::size_t& count_;
};

// The answer a connection waits for. answer() may be called at once or much later, and also
// after the connection has gone (the answer is then dropped).
template <class T>
class PendingAnswer {
 public:
  explicit PendingAnswer(const boost::asio::any_io_executor& executor)
      : wake_(executor, boost::asio::steady_timer::time_point::max()) {}

  // The callback to hand to the handler.
  static std::function<void(T)> callback(const std::shared_ptr<PendingAnswer>& pending) {
    return [pending](T value) {
      pending->value_ = std::move(value);
      pending->wake_.cancel();
    };
  }
  // Waits for the answer; nullopt if the wait ended without one (the server is closing).
  boost::asio::awaitable<std::optional<T>> wait() {
    if (!value_) co_await wake_.async_wait(use_tuple);
    co_return std::move(value_);
  }

 private:
  std::optional<T> value_;
  boost::asio::steady_timer wake_;
};

}  // namespace cservice::controlplane
