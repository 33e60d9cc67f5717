#include "control/http_client.hpp"

#include "control/event_follower.hpp"
#include "control/http_client_parts.hpp"
#include "control/http_tls.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>
#include <fmt/format.h>

namespace cservice::controlplane {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace detail {

http::request<http::empty_body> cli_request(const std::string& host, const std::string& key,
                                            const std::string& line, KeyPlace place) {
  // Everything but the unreserved characters percent-encoded: a '+' left as it is would be read
  // as a space (by our server, and by the original's querystring).
  const auto encoded = [](std::string_view text) {
    return boost::urls::encode(text, boost::urls::unreserved_chars);
  };
  std::string query = "cmd=" + encoded(line);
  if (!key.empty() && place == KeyPlace::Query) query += "&accessKey=" + encoded(key);
  boost::urls::url target;
  target.set_path("/cli");
  target.set_encoded_query(query);
  http::request<http::empty_body> request(http::verb::post, target.buffer(), 11);
  request.set(http::field::host, host);
  if (!key.empty() && place == KeyPlace::Header) {
    request.set(http::field::authorization, "Bearer " + key);
  }
  request.keep_alive(false);
  request.prepare_payload();
  return request;
}

Error client_failure(const std::string& where, const boost::system::error_code& failure) {
  if (failure == asio::error::connection_refused) {
    return make_error(errc::not_found,
                      fmt::format("no service answers on {} (connection refused)", where));
  }
  if (failure == beast::error::timeout) {
    return make_error(errc::timed_out, fmt::format("control {}: no answer in time", where));
  }
  return make_error(errc::timed_out, fmt::format("control {}: {}", where, failure.message()));
}

http::request<http::empty_body> events_request(const std::string& host, const std::string& key,
                                               const std::optional<std::string>& last_id) {
  http::request<http::empty_body> request(http::verb::get, "/events", 11);
  request.set(http::field::host, host);
  request.set(http::field::accept, "text/event-stream");
  if (!key.empty()) request.set(http::field::authorization, "Bearer " + key);
  if (last_id) request.set("Last-Event-ID", *last_id);
  request.keep_alive(false);
  return request;
}

void EventParser::feed(std::string_view text) {
  for (;;) {
    const auto end = text.find('\n');
    if (end == std::string_view::npos) {
      partial_.append(text);
      return;
    }
    partial_.append(text.substr(0, end));
    text.remove_prefix(end + 1);
    std::string whole = std::exchange(partial_, {});
    if (!whole.empty() && whole.back() == '\r') whole.pop_back();
    line(whole);
  }
}

void EventParser::line(std::string_view text) {
  if (text.empty()) {
    // The end of an event: one without data is none (the SSE rules).
    if (has_data_) on_event_(event_);
    event_ = {};
    has_data_ = false;
    return;
  }
  if (text.front() == ':') return;  // a comment: a heartbeat
  const auto colon = text.find(':');
  const std::string_view field = text.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  if (value.starts_with(' ')) value.remove_prefix(1);
  if (field == "id") {
    event_.id = std::string(value);
  } else if (field == "event") {
    event_.name = std::string(value);
  } else if (field == "data") {
    if (has_data_) event_.data += '\n';
    event_.data.append(value);
    has_data_ = true;
  }
}

Result<void> follow_end(const std::string& where, const FollowEnd& end) {
  if (end.status != 0 && end.status != 200) {
    std::string text = end.body;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return make_error(end.status == 401 ? errc::bad_request : errc::not_found,
                      fmt::format("the service on {} refused: {} {}", where, end.status, text));
  }
  if (!end.error) return {};
  if (end.status == 200) {
    if (end.error == beast::error::timeout) {
      return make_error(errc::timed_out,
                        fmt::format("control {}: the connection is lost (no heartbeat in time)",
                                    where));
    }
    return make_error(errc::timed_out, fmt::format("control {}: the connection was lost: {}",
                                                   where, end.error.message()));
  }
  return client_failure(where, end.error);
}

}  // namespace detail

namespace {

Result<ClientAnswer> exchange(const std::string& host, std::uint16_t port, const std::string& key,
                              const std::string& line, std::chrono::milliseconds timeout,
                              const std::optional<ClientTls>& tls, detail::KeyPlace place) {
  if (tls) return detail::send_command_tls(host, port, key, line, timeout, *tls, place);
  asio::io_context io;
  beast::tcp_stream stream(io);
  auto request = detail::cli_request(host, key, line, place);
  http::response<http::string_body> response;
  beast::flat_buffer buffer;
  beast::error_code failure;

  asio::ip::tcp::resolver resolver(io);
  stream.expires_after(timeout);
  resolver.async_resolve(host, std::to_string(port), [&](beast::error_code ec, auto results) {
    if (ec) {
      failure = ec;
      return;
    }
    stream.async_connect(results, [&](beast::error_code connect_ec, const auto&) {
      if (connect_ec) {
        failure = connect_ec;
        return;
      }
      http::async_write(stream, request, [&](beast::error_code write_ec, std::size_t) {
        if (write_ec) {
          failure = write_ec;
          return;
        }
        http::async_read(stream, buffer, response,
                         [&](beast::error_code read_ec, std::size_t) { failure = read_ec; });
      });
    });
  });
  io.run();
  if (failure) return detail::client_failure(fmt::format("{}:{}", host, port), failure);
  return ClientAnswer{response.result_int(), response.body()};
}

}  // namespace

Result<void> follow_events(const std::string& host, std::uint16_t port, const std::string& key,
                           const std::optional<std::string>& last_id,
                           const EventCallback& on_event, std::chrono::milliseconds idle_timeout,
                           const std::optional<ClientTls>& tls) {
  if (tls) return detail::follow_events_tls(host, port, key, last_id, on_event, idle_timeout, *tls);
  const std::string where = fmt::format("{}:{}", host, port);
  asio::io_context io;
  beast::tcp_stream stream(io);
  detail::FollowEnd end;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        stream.expires_after(idle_timeout);
        asio::ip::tcp::resolver resolver(io);
        auto [resolve_error, results] =
            co_await resolver.async_resolve(host, std::to_string(port), use_tuple);
        end.error = resolve_error;
        if (end.error) co_return;
        auto [connect_error, endpoint] = co_await stream.async_connect(results, use_tuple);
        end.error = connect_error;
        if (end.error) co_return;
        const auto request = detail::events_request(host, key, last_id);
        auto [write_error, written] = co_await http::async_write(stream, request, use_tuple);
        end.error = write_error;
        if (end.error) co_return;
        end = co_await detail::read_events(stream, idle_timeout, on_event);
      },
      asio::detached);
  io.run();
  return detail::follow_end(where, end);
}

Result<ClientAnswer> send_command(const std::string& host, std::uint16_t port,
                                  const std::string& key, const std::string& line,
                                  std::chrono::milliseconds timeout,
                                  const std::optional<ClientTls>& tls) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  auto answer = exchange(host, port, key, line, timeout, tls, detail::KeyPlace::Header);
  // An original (Node.js) master reads the key only from the query and refuses the header with
  // 401 "Not authorized" (its only text for a refused key). A 401 ran nothing, so asking once
  // more is safe; our own services read either and say something else when they refuse, so
  // they are not asked twice (nor is a second refusal audited).
  if (!answer || answer->status != 401 || key.empty() ||
      !answer->body.starts_with("Not authorized")) {
    return answer;
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return answer;
  auto retry = exchange(host, port, key, line, left, tls, detail::KeyPlace::Query);
  return retry ? retry : answer;
}

}  // namespace cservice::controlplane
