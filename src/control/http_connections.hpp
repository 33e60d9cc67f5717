#pragma once
// HttpConnections: the HTTP server's open connections and their admission (admission.hpp) on
// the loop. It closes the connections Admission gives up (a silent one displaced by a newcomer,
// an idle keep-alive one whose slot is taken), wakes the queued ones it admits, and holds the
// accept loop while there is no room for another connection. Each session
// registers its connection for as long as it lives (LiveConnection::Registration). Loop thread
// only. Internal to control/.

#include "control/admission.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <unordered_map>

namespace cservice::controlplane {

class HttpConnections;

// One connection, as its session (which owns the socket and this record) shows it to the others.
struct LiveConnection {
  ConnectionId id{};
  boost::asio::ip::address peer;
  boost::asio::ip::tcp::socket* socket = nullptr;  // to close it from outside
  boost::asio::steady_timer* wake = nullptr;       // set while its session waits on a timer
  bool closed = false;  // closed from outside: its session only ends, answering nothing

  // Registers the connection for its lifetime (from just after accept).
  class Registration {
   public:
    Registration(HttpConnections& connections, LiveConnection& connection);
    ~Registration();
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    HttpConnections& connections_;
    LiveConnection& connection_;
  };

  // Publishes `timer` as the one to cancel to wake the session, for the guard's lifetime (a
  // coroutine frame destroyed while it waits unpublishes it too).
  class Waiting {
   public:
    Waiting(LiveConnection& connection, boost::asio::steady_timer& timer)
        : connection_(connection) {
      connection_.wake = &timer;
    }
    ~Waiting() { connection_.wake = nullptr; }
    Waiting(const Waiting&) = delete;
    Waiting& operator=(const Waiting&) = delete;

   private:
    LiveConnection& connection_;
  };
};

class HttpConnections {
 public:
  HttpConnections(AdmissionLimits limits, std::chrono::milliseconds queue_timeout);

  // Returns once a new connection may be accepted (at once, unless every place for an
  // unauthenticated one is taken by a connection still in its grace).
  boost::asio::awaitable<void> wait_for_room();

  // A slot for the authenticated request of `connection`: at once, or after waiting in the
  // queue, queue_timeout at most. False: none (the queue is full, the wait expired, or the
  // connection was closed meanwhile); the connection is then out of the queue.
  boost::asio::awaitable<bool> admit(LiveConnection& connection);
  // After an answer: may the connection stay open for another request? (Not when requests
  // wait for a slot.) If so it is idle, and may be reclaimed, until busy().
  bool released(LiveConnection& connection);
  void busy(LiveConnection& connection);
  // The connection now streams an answer: it gives up its slot (or its place among the
  // unauthenticated) and is no longer reclaimable; it stays open until its session ends.
  void detach(LiveConnection& connection);

  // Closes the idle connection that has been idle longest, if any (to free a descriptor).
  bool reclaim_idle();

  const Admission& admission() const { return admission_; }

 private:
  friend class LiveConnection::Registration;
  void open(LiveConnection& connection);
  void close(LiveConnection& connection);
  void shut(ConnectionId id);  // closes that connection's socket and wakes its session
  void room_changed();         // wakes wait_for_room()

  Admission admission_;
  std::chrono::milliseconds queue_timeout_;
  std::unordered_map<std::uint64_t, LiveConnection*> live_;
  std::uint64_t next_id_ = 0;
  boost::asio::steady_timer* room_waiter_ = nullptr;  // set while wait_for_room() waits
};

}  // namespace cservice::controlplane
