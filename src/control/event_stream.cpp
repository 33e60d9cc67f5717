#include "control/event_stream.hpp"

#include "base/log.hpp"
#include "commands/operations.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace cservice::controlplane {

namespace {

constexpr std::string_view kHeartbeat = ": keep-alive\n\n";

// A name from a worker or library code may hold anything: one line of printable bytes for the
// event: field (a line break would end the field and forge another).
std::string field_safe(const std::string& name) {
  std::string safe = name;
  for (char& c : safe) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
  }
  return safe.empty() ? "event" : safe;
}

std::string json_line(const nlohmann::json& value) {
  // Bad UTF-8 from a worker is replaced, never thrown on; dump() escapes every line break.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string event_block(std::uint64_t id, const std::string& name, const nlohmann::json& data,
                        std::chrono::system_clock::time_point time) {
  const nlohmann::json body = {
      {"id", id}, {"time", commands::rfc3339(time)}, {"name", name}, {"data", data}};
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", id, field_safe(name), json_line(body));
}

EventStream::EventStream(EventStreamLimits limits, WallClock wall)
    : limits_(limits), wall_(std::move(wall)) {}

EventStream::~EventStream() {
  if (on_closed_) *on_closed_ = nullptr;
}

void EventStream::publish(const supervisor::Event& event) {
  const std::uint64_t id = next_id_++;
  std::string text = event_block(id, event.name, event.data, wall_());
  std::erase_if(followers_, [&text](const std::weak_ptr<HttpStream>& weak) {
    const auto follower = weak.lock();
    if (!follower || follower->ended()) return true;
    if (follower->push(text)) return false;
    log::warn("events: a follower was dropped: it reads too slowly ({} bytes waiting)",
              follower->queued_bytes());
    return true;
  });
  history_.push_back({id, std::move(text)});
  while (history_.size() > limits_.history) history_.pop_front();
}

std::string EventStream::missed_block(std::uint64_t last_id, const char* reason) const {
  const std::uint64_t first = history_.empty() ? next_id_ : history_.front().id;
  const nlohmann::json body = {
      {"time", commands::rfc3339(wall_())},
      {"name", "missed"},
      {"data", {{"lastEventId", last_id}, {"firstId", first}, {"reason", reason}}}};
  // No id: the follower's last event id stays the one it gave.
  return fmt::format("event: missed\ndata: {}\n\n", json_line(body));
}

std::shared_ptr<HttpStream> EventStream::follow(std::optional<std::uint64_t> last_id) {
  if (closed_) return nullptr;
  auto stream = std::make_shared<HttpStream>(limits_.max_queued_bytes, std::string(kHeartbeat),
                                             limits_.heartbeat);
  if (last_id) {
    const std::uint64_t first = history_.empty() ? next_id_ : history_.front().id;
    std::string replay;
    if (*last_id >= next_id_) {
      replay = missed_block(*last_id, "unknown");  // not given by this master
    } else if (*last_id + 1 < first) {
      replay = missed_block(*last_id, "expired");  // older than the history
    }
    for (const Kept& kept : history_) {
      if (kept.id > *last_id || *last_id >= next_id_) replay += kept.text;
    }
    // A history larger than a follower may queue: it gets what fits, then a missed event.
    if (!replay.empty() && !stream->push(replay)) {
      stream = std::make_shared<HttpStream>(limits_.max_queued_bytes, std::string(kHeartbeat),
                                            limits_.heartbeat);
      stream->push(missed_block(*last_id, "expired"));
    }
  }
  followers_.push_back(stream);
  return stream;
}

void EventStream::close(std::function<void()> done) {
  closed_ = true;
  on_closed_ = std::make_shared<std::function<void()>>(std::move(done));
  // Held by every open stream: when the last one is gone, `done` runs (if we still exist).
  const std::shared_ptr<void> token(nullptr, [weak = std::weak_ptr(on_closed_)](void*) {
    if (const auto done_now = weak.lock(); done_now && *done_now) {
      auto call = std::exchange(*done_now, nullptr);
      call();
    }
  });
  for (const auto& weak : followers_) {
    if (const auto follower = weak.lock()) {
      follower->keep_until_gone(token);
      follower->end();
    }
  }
  followers_.clear();
}

std::size_t EventStream::followers() const {
  return static_cast<std::size_t>(
      std::count_if(followers_.begin(), followers_.end(), [](const auto& weak) {
        const auto follower = weak.lock();
        return follower && !follower->ended();
      }));
}

}  // namespace cservice::controlplane
