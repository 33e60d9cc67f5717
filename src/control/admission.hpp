#pragma once
// Admission decides which of the HTTP server's connections may use its scarce slots, so that
// callers with a key keep the API however many keyless ones connect.
//
// A connection starts unauthenticated: it has only a short deadline to send a request head
// (the server's business) and a place among a bounded number of such connections. When they are
// all taken, the oldest is displaced (closed) to make room for the next, provided it has had
// `grace` to send its head; until then the server accepts no more (they wait in the kernel's
// backlog), so a burst of honest callers whose heads are on their way is not cut down, while
// silent or trickling connections lose their places to newcomers once they had `grace`. A peer
// over its share of the places loses its own oldest (past `grace`) rather than someone else's.
//
// Once a request head carries a valid key, the connection asks for a slot: it gets one at once,
// or takes the slot of the longest idle keep-alive connection (which is closed), or waits in a
// bounded FIFO queue until a slot frees; only a full queue refuses it. A connection that keeps
// its slot between requests gives it up when others wait. Slots bound what authenticated callers
// use at once: their request bodies and handlers, and their keep-alive connections.
//
// Pure logic: no sockets, and time only as the caller's `now` (the caller owns the deadlines,
// and closes what it is told to). Ids must grow with the order in which connections are opened.

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

namespace cservice::controlplane {

enum class ConnectionId : std::uint64_t {};

struct AdmissionLimits {
  std::size_t slots = 64;                     // authenticated connections served at once
  std::size_t queue = 512;                    // authenticated requests waiting for a slot
  std::size_t unauthenticated = 256;          // connections without a valid key yet, in all
  std::size_t unauthenticated_per_peer = 64;  // ... from one address
  std::chrono::milliseconds grace{1'000};     // before which one is never displaced
};

class Admission {
 public:
  enum class Verdict {
    Served,   // the connection holds a slot
    Queued,   // it waits for one: released() or close() of another hands it over
    Refused,  // the queue is full (503)
  };
  struct Admit {
    Verdict verdict = Verdict::Refused;
    std::optional<ConnectionId> reclaim;  // an idle connection whose slot was taken: close it
  };

  using TimePoint = std::chrono::steady_clock::time_point;

  explicit Admission(AdmissionLimits limits);

  // Whether a new connection may be accepted now. If the places are taken, the oldest is
  // displaced when it has had its grace (`displace`: close it; it is already forgotten here);
  // else `wait_until` says when that will be (sooner if a connection authenticates or closes).
  struct Room {
    std::optional<ConnectionId> displace;
    std::optional<TimePoint> wait_until;  // none: there is room
  };
  Room room(TimePoint now);

  // A new connection from `peer`, accepted at `now`. Returns the connection to close if the
  // peer is now over its share: its oldest, if that has had its grace (already forgotten here).
  std::optional<ConnectionId> open(ConnectionId id, const boost::asio::ip::address& peer,
                                   TimePoint now);

  // The connection's request carries a valid key. A connection that already holds a slot keeps
  // it (Served).
  Admit authenticated(ConnectionId id);

  // The connection answered its request and would keep the connection open for another: true
  // if it may (it is idle, reclaimable, until busy()), false if it must close because requests
  // wait for its slot (its close() hands the slot over).
  bool released(ConnectionId id);
  // An idle connection began a new request: it is no longer reclaimable.
  void busy(ConnectionId id);
  // Forgets the connection that has been idle longest and returns it (close it), if any.
  std::optional<ConnectionId> reclaim_idle();

  // The connection is gone, or gives up waiting. Returns the queued connection that got its
  // slot, if any: wake it. Unknown ids (already closed, or told to be) are ignored.
  std::optional<ConnectionId> close(ConnectionId id);

  bool is_served(ConnectionId id) const;
  std::size_t served() const { return slots_used_; }
  std::size_t queued() const { return queue_.size(); }
  std::size_t unauthenticated() const { return unauthenticated_.size(); }

 private:
  enum class State { Unauthenticated, Queued, Busy, Idle, Refused };
  struct Entry {
    State state = State::Unauthenticated;
    boost::asio::ip::address peer;
    TimePoint opened;
    std::uint64_t idle_since = 0;  // order in which it became idle (oldest reclaimed first)
  };

  void forget_unauthenticated(ConnectionId id, const boost::asio::ip::address& peer);
  // Forgets unauthenticated `id` if it has had its grace by `now`.
  bool displace(ConnectionId id, TimePoint now);
  void take_slot(Entry& entry);

  AdmissionLimits limits_;
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::set<ConnectionId> unauthenticated_;  // oldest first (ids grow)
  std::map<boost::asio::ip::address, std::set<ConnectionId>> unauthenticated_by_peer_;
  std::deque<ConnectionId> queue_;
  std::map<std::uint64_t, ConnectionId> idle_;  // by idle_since, oldest first
  std::uint64_t idle_clock_ = 0;
  std::size_t slots_used_ = 0;  // Busy and Idle
};

}  // namespace cservice::controlplane
