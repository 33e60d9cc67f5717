#include "control/admission.hpp"

#include <algorithm>

namespace cservice::controlplane {

namespace ip = boost::asio::ip;

namespace {

std::uint64_t key(ConnectionId id) { return static_cast<std::uint64_t>(id); }

// A v4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; it is the same peer.
ip::address canonical(const ip::address& peer) {
  if (peer.is_v6() && peer.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, peer.to_v6());
  }
  return peer;
}

}  // namespace

Admission::Admission(AdmissionLimits limits) : limits_(limits) {}

Admission::Room Admission::room(TimePoint now) {
  if (unauthenticated_.size() < limits_.unauthenticated) return {};
  // The oldest has had the longest to send its head; a newcomer whose head is on its way is
  // the likelier caller with a key.
  const ConnectionId oldest = *unauthenticated_.begin();
  if (displace(oldest, now)) return {oldest, std::nullopt};
  return {std::nullopt, entries_.at(key(oldest)).opened + limits_.grace};
}

std::optional<ConnectionId> Admission::open(ConnectionId id, const ip::address& raw_peer,
                                            TimePoint now) {
  const ip::address peer = canonical(raw_peer);
  entries_[key(id)] = Entry{State::Unauthenticated, peer, now, 0};
  unauthenticated_.insert(id);
  auto& of_peer = unauthenticated_by_peer_[peer];
  of_peer.insert(id);
  if (of_peer.size() <= limits_.unauthenticated_per_peer) return std::nullopt;
  const ConnectionId oldest = *of_peer.begin();
  if (displace(oldest, now)) return oldest;
  return std::nullopt;
}

bool Admission::displace(ConnectionId id, TimePoint now) {
  const auto it = entries_.find(key(id));
  if (it == entries_.end() || now - it->second.opened < limits_.grace) return false;
  forget_unauthenticated(id, it->second.peer);
  entries_.erase(it);
  return true;
}

void Admission::forget_unauthenticated(ConnectionId id, const ip::address& peer) {
  unauthenticated_.erase(id);
  const auto it = unauthenticated_by_peer_.find(peer);
  if (it == unauthenticated_by_peer_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) unauthenticated_by_peer_.erase(it);
}

void Admission::take_slot(Entry& entry) {
  entry.state = State::Busy;
  ++slots_used_;
}

Admission::Admit Admission::authenticated(ConnectionId id) {
  const auto it = entries_.find(key(id));
  if (it == entries_.end()) return {Verdict::Refused, std::nullopt};
  Entry& entry = it->second;
  switch (entry.state) {
    case State::Busy:
      return {Verdict::Served, std::nullopt};
    case State::Idle:
      busy(id);
      return {Verdict::Served, std::nullopt};
    case State::Queued:
      return {Verdict::Queued, std::nullopt};
    case State::Refused:
      return {Verdict::Refused, std::nullopt};
    case State::Unauthenticated:
      break;
  }
  forget_unauthenticated(id, entry.peer);
  if (slots_used_ < limits_.slots) {
    take_slot(entry);
    return {Verdict::Served, std::nullopt};
  }
  // The longest idle keep-alive connection gives its slot to a request that has work to do.
  if (const auto victim = reclaim_idle()) {
    take_slot(entry);
    return {Verdict::Served, victim};
  }
  if (queue_.size() < limits_.queue) {
    entry.state = State::Queued;
    queue_.push_back(id);
    return {Verdict::Queued, std::nullopt};
  }
  entry.state = State::Refused;
  return {Verdict::Refused, std::nullopt};
}

bool Admission::released(ConnectionId id) {
  const auto it = entries_.find(key(id));
  if (it == entries_.end() || it->second.state != State::Busy) return false;
  // Requests wait only while no connection idles (authenticated() reclaims one first), so an
  // answered connection with waiters behind it closes and hands its slot on.
  if (!queue_.empty()) return false;
  it->second.state = State::Idle;
  it->second.idle_since = ++idle_clock_;
  idle_.emplace(it->second.idle_since, id);
  return true;
}

void Admission::busy(ConnectionId id) {
  const auto it = entries_.find(key(id));
  if (it == entries_.end() || it->second.state != State::Idle) return;
  idle_.erase(it->second.idle_since);
  it->second.state = State::Busy;
}

std::optional<ConnectionId> Admission::reclaim_idle() {
  if (idle_.empty()) return std::nullopt;
  const auto oldest = idle_.begin();
  const ConnectionId victim = oldest->second;
  idle_.erase(oldest);
  entries_.erase(key(victim));
  --slots_used_;
  return victim;
}

std::optional<ConnectionId> Admission::close(ConnectionId id) {
  const auto it = entries_.find(key(id));
  if (it == entries_.end()) return std::nullopt;
  const Entry entry = it->second;
  entries_.erase(it);
  switch (entry.state) {
    case State::Unauthenticated:
      forget_unauthenticated(id, entry.peer);
      return std::nullopt;
    case State::Queued:
      queue_.erase(std::find(queue_.begin(), queue_.end(), id));
      return std::nullopt;
    case State::Refused:
      return std::nullopt;
    case State::Idle:
      idle_.erase(entry.idle_since);
      break;
    case State::Busy:
      break;
  }
  --slots_used_;
  if (queue_.empty()) return std::nullopt;
  const ConnectionId next = queue_.front();
  queue_.pop_front();
  take_slot(entries_.at(key(next)));
  return next;
}

bool Admission::is_served(ConnectionId id) const {
  const auto it = entries_.find(key(id));
  return it != entries_.end() &&
         (it->second.state == State::Busy || it->second.state == State::Idle);
}

}  // namespace cservice::controlplane
