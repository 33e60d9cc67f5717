#pragma once
// The client side of GET /events (event_stream.hpp), over any Beast stream (plain TCP, or TLS
// over it): sends the request, then reads the text/event-stream body as it comes and hands
// each event to a callback. Shared by http_client.cpp and http_tls.cpp. Internal to control/.

#include "control/coroutines.hpp"
#include "control/http_client.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <limits>
#include <optional>
#include <string>

namespace cservice::controlplane::detail {

// GET /events[?lastEventId=N] with the key as a Bearer token.
boost::beast::http::request<boost::beast::http::empty_body> events_request(
    const std::string& host, const std::string& key, const std::optional<std::string>& last_id);

// Splits text/event-stream text into events: feed() what arrives, in pieces of any size; each
// complete event goes to `on_event`. Comments (heartbeats) and unknown fields are skipped.
class EventParser {
 public:
  explicit EventParser(const EventCallback& on_event) : on_event_(on_event) {}
  void feed(std::string_view text);

 private:
  void line(std::string_view text);
  const EventCallback& on_event_;
  std::string partial_;  // a line not yet ended
  StreamEvent event_;
  bool has_data_ = false;
};

// How a follow ended: `error` (none: the service ended the stream), or an answer that was not
// a stream (`status` and `body`).
struct FollowEnd {
  boost::system::error_code error;
  unsigned status = 0;
  std::string body;
};

// The outcome of a follow that ended as `end`, with the service at `where`.
Result<void> follow_end(const std::string& where, const FollowEnd& end);

// After the request is written: reads the answer; a 200 is followed until it ends, each read
// waiting `idle_timeout` at most (a silent peer past its heartbeats is gone).
template <class Stream>
boost::asio::awaitable<FollowEnd> read_events(Stream& stream, std::chrono::milliseconds idle_timeout,
                                              const EventCallback& on_event) {
  namespace http = boost::beast::http;
  auto& transport = boost::beast::get_lowest_layer(stream);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  transport.expires_after(idle_timeout);
  auto [head_error, head_bytes] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
  if (head_error) co_return FollowEnd{head_error, 0, {}};
  FollowEnd end;
  end.status = parser.get().result_int();
  EventParser events(on_event);
  std::array<char, 8192> data{};
  while (!parser.is_done()) {
    parser.get().body().data = data.data();
    parser.get().body().size = data.size();
    transport.expires_after(idle_timeout);
    // read_some: what has come, not until the body buffer is full.
    auto [error, n] = co_await http::async_read_some(stream, buffer, parser, use_tuple);
    if (error == http::error::need_buffer) error = {};
    const std::string_view got(data.data(), data.size() - parser.get().body().size);
    if (end.status == 200) {
      events.feed(got);
    } else if (end.body.size() < 64 * 1024) {
      end.body.append(got);
    }
    if (error) {
      end.error = error;
      break;
    }
  }
  co_return end;
}

}  // namespace cservice::controlplane::detail
