#include "control/http_connections.hpp"

#include "control/coroutines.hpp"

#include <boost/asio/this_coro.hpp>

namespace cservice::controlplane {

namespace asio = boost::asio;

LiveConnection::Registration::Registration(HttpConnections& connections,
                                           LiveConnection& connection)
    : connections_(connections), connection_(connection) {
  connections_.open(connection_);
}

LiveConnection::Registration::~Registration() { connections_.close(connection_); }

HttpConnections::HttpConnections(AdmissionLimits limits, std::chrono::milliseconds queue_timeout)
    : admission_(limits), queue_timeout_(queue_timeout) {}

void HttpConnections::open(LiveConnection& connection) {
  connection.id = ConnectionId{++next_id_};
  live_[next_id_] = &connection;
  const auto displaced =
      admission_.open(connection.id, connection.peer, std::chrono::steady_clock::now());
  if (displaced) shut(*displaced);
}

void HttpConnections::close(LiveConnection& connection) {
  live_.erase(static_cast<std::uint64_t>(connection.id));
  if (const auto next = admission_.close(connection.id)) {
    const auto it = live_.find(static_cast<std::uint64_t>(*next));
    if (it != live_.end() && it->second->wake != nullptr) it->second->wake->cancel();
  }
  room_changed();
}

void HttpConnections::room_changed() {
  if (room_waiter_ != nullptr) room_waiter_->cancel();
}

asio::awaitable<void> HttpConnections::wait_for_room() {
  for (;;) {
    const auto room = admission_.room(std::chrono::steady_clock::now());
    if (room.displace) shut(*room.displace);
    if (!room.wait_until) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor, *room.wait_until);
    // Unpublished however the wait ends, the frame's destruction included.
    struct Published {
      asio::steady_timer*& slot;
      ~Published() { slot = nullptr; }
    };
    room_waiter_ = &timer;
    const Published published{room_waiter_};
    co_await timer.async_wait(use_tuple);
  }
}

void HttpConnections::shut(ConnectionId id) {
  const auto it = live_.find(static_cast<std::uint64_t>(id));
  if (it == live_.end()) return;
  LiveConnection& connection = *it->second;
  connection.closed = true;
  boost::system::error_code ignored;
  connection.socket->close(ignored);  // its pending reads and writes end with operation_aborted
  if (connection.wake != nullptr) connection.wake->cancel();
}

asio::awaitable<bool> HttpConnections::admit(LiveConnection& connection) {
  const Admission::Admit admit = admission_.authenticated(connection.id);
  room_changed();  // one unauthenticated connection fewer
  if (admit.reclaim) shut(*admit.reclaim);
  if (admit.verdict == Admission::Verdict::Served) co_return true;
  if (admit.verdict == Admission::Verdict::Refused) co_return false;

  // Queued: close() of a served connection cancels this timer when it hands its slot over.
  asio::steady_timer wake(co_await asio::this_coro::executor, queue_timeout_);
  {
    const LiveConnection::Waiting waiting(connection, wake);
    co_await wake.async_wait(use_tuple);
  }
  if (admission_.is_served(connection.id)) co_return true;
  admission_.close(connection.id);  // out of the queue: it will be told 503, not served
  co_return false;
}

bool HttpConnections::released(LiveConnection& connection) {
  return admission_.released(connection.id);
}

void HttpConnections::detach(LiveConnection& connection) {
  if (const auto next = admission_.close(connection.id)) {
    const auto it = live_.find(static_cast<std::uint64_t>(*next));
    if (it != live_.end() && it->second->wake != nullptr) it->second->wake->cancel();
  }
  room_changed();
}

void HttpConnections::busy(LiveConnection& connection) { admission_.busy(connection.id); }

bool HttpConnections::reclaim_idle() {
  const auto idle = admission_.reclaim_idle();
  if (idle) shut(*idle);
  return idle.has_value();
}

}  // namespace cservice::controlplane
