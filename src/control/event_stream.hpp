#pragma once
// EventStream: the service's events as Server-Sent Events, for the followers of GET /events.
// Each event published gets the next id (1, 2, ...), is kept in a bounded history (for
// followers that resume with Last-Event-ID) and is queued on every follower's stream.
//
// Wire format (text/event-stream), one block per event:
//
//   id: 42
//   event: workerExit
//   data: {"id":42,"time":"2024-05-01T12:00:01.123Z","name":"workerExit","data":{...}}
//
// `time` is the master's wall clock when the event was published, RFC 3339 UTC with
// milliseconds; `data` the event's own data (for a custom event, its arguments). The name is
// made safe for the event: line (no line breaks). A follower resuming after an id that is no
// longer in the history (or one this master never gave, as after its restart) first gets a
// `missed` event, without an id, saying so (data: {"lastEventId", "firstId", "reason"}), then
// every event kept. Comment lines (": keep-alive") are heartbeats. Version: kEventStreamFormat.
//
// A follower whose queue grows past max_queued_bytes (it does not read) is dropped: its stream
// ends and its connection closes; it may reconnect with its Last-Event-ID. Loop thread only.

#include "control/http_stream.hpp"
#include "supervisor/event_bus.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cservice::controlplane {

// Changes whenever the format of an event block does.
inline constexpr int kEventStreamFormat = 1;

struct EventStreamLimits {
  std::size_t history = 1000;                      // events kept for resuming followers
  std::size_t max_queued_bytes = 1024 * 1024;      // per follower, then it is dropped
  std::chrono::milliseconds heartbeat{15'000};     // a comment after this long without events
};

class EventStream {
 public:
  using WallClock = std::function<std::chrono::system_clock::time_point()>;

  explicit EventStream(EventStreamLimits limits = {},
                       WallClock wall = [] { return std::chrono::system_clock::now(); });
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // Numbers `event`, keeps it and queues it for every follower.
  void publish(const supervisor::Event& event);

  // A new follower's stream: with `last_id`, first the kept events after it (after a `missed`
  // event if some are lost), then every new event. Nullptr once close() has been called.
  std::shared_ptr<HttpStream> follow(std::optional<std::uint64_t> last_id);

  // Ends every follower's stream (the service stops) and refuses new ones; `done` runs once
  // every stream is gone (written out, or its connection closed): at once if none is open.
  // `done` never runs after this object is destroyed.
  void close(std::function<void()> done);

  std::size_t followers() const;
  std::uint64_t last_id() const { return next_id_ - 1; }

 private:
  struct Kept {
    std::uint64_t id;
    std::string text;  // the whole block
  };
  std::string missed_block(std::uint64_t last_id, const char* reason) const;

  EventStreamLimits limits_;
  WallClock wall_;
  std::deque<Kept> history_;
  std::vector<std::weak_ptr<HttpStream>> followers_;
  std::uint64_t next_id_ = 1;
  bool closed_ = false;
  // Shared with the streams' keep-alive token: reset by the destructor, so that a stream
  // destroyed later (with the loop) calls nothing.
  std::shared_ptr<std::function<void()>> on_closed_;
};

// One event block (see above).
std::string event_block(std::uint64_t id, const std::string& name, const nlohmann::json& data,
                        std::chrono::system_clock::time_point time);

}  // namespace cservice::controlplane
