#pragma once
// The HTTP/1.1 conversation on one connection of an HttpServer, over any Beast stream whose
// lowest layer is a beast::tcp_stream (so plain TCP, and TLS over it). It
// follows the rules of http_server.hpp: a deadline at every stage, authentication on the request
// head before any slot or body, and an answer to every request. Loop thread only. Internal to
// control/.

#include "base/log.hpp"
#include "control/coroutines.hpp"
#include "control/http_connections.hpp"
#include "control/http_server.hpp"
#include "control/http_stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace cservice::controlplane::detail {

// What the sessions of one server share. Owned by the HttpServer and by its sessions.
struct ServerCore {
  ServerCore(HttpLimits l, HttpServer::Handler h, HttpServer::Authenticate a);

  HttpLimits limits;
  HttpServer::Handler handle;
  HttpServer::Authenticate authenticate;  // empty: every request is authenticated
  HttpConnections connections;
  std::size_t streams = 0;  // streamed answers being written
};

// The answer to a request, and whether the connection must close after it.
struct Answer {
  HttpResponse response;
  bool close = false;
};

HttpResponse error_response(unsigned status, std::string text);

// Whether `head` is authenticated (false, and a logged bug, if `authenticate` throws).
bool is_authenticated(ServerCore& core, const HttpRequest& head);

// Gives `request` to the handler and waits for its answer, `deadline` at most: the handler's
// own; 500 closing the connection if it threw or dropped its callback unanswered; 504 closing it
// if none came in time. nullopt if the connection was closed meanwhile.
boost::asio::awaitable<std::optional<Answer>> answer_of(ServerCore& core,
                                                        LiveConnection& connection,
                                                        HttpRequest request,
                                                        std::chrono::milliseconds deadline);

// The answer to a request whose head or body could not be read, if it deserves one: 413 (too
// large), 400 (malformed). Time-outs and hang-ups get none: the connection just ends.
std::optional<HttpResponse> refusal_for(const boost::system::error_code& read_error);

// Beast's form of `answer`; a 500 if it cannot be built. `keep_alive` is set false then.
boost::beast::http::response<boost::beast::http::string_body> to_beast(const HttpResponse& answer,
                                                                       unsigned version,
                                                                       bool& keep_alive);

// Writes `answer`, write_timeout at most. True if the connection may carry another request.
template <class Stream>
boost::asio::awaitable<bool> write_answer(Stream& stream, const LiveConnection& connection,
                                          const HttpLimits& limits, const HttpResponse& answer,
                                          unsigned version, bool keep_alive) {
  if (connection.closed) co_return false;
  auto response = to_beast(answer, version, keep_alive);
  boost::beast::get_lowest_layer(stream).expires_after(limits.write_timeout);
  auto [error, written] = co_await boost::beast::http::async_write(stream, response, use_tuple);
  co_return !error && keep_alive;
}

// Writes the streamed answer `answer` (http_stream.hpp): the head, chunked, then the stream's
// chunks (a heartbeat after each quiet interval) until it ends (the last chunk is written) or
// the client is gone, write_timeout at most per write. Past max_streams, a 503 instead. The
// connection gives up its slot first; it closes after the stream.
template <class Stream>
boost::asio::awaitable<void> write_stream(Stream& stream, ServerCore& core,
                                          LiveConnection& connection, const HttpResponse& answer,
                                          unsigned version) {
  namespace http = boost::beast::http;
  auto& transport = boost::beast::get_lowest_layer(stream);
  if (core.streams >= core.limits.max_streams) {
    co_await write_answer(stream, connection, core.limits,
                          error_response(503, "busy: too many streams open; try again later"),
                          version, false);
    co_return;
  }
  const CountedConnection counted(core.streams);
  core.connections.detach(connection);
  HttpStream& body = *answer.stream;
  http::response<http::empty_body> head(static_cast<http::status>(answer.status), version);
  head.set(http::field::server, "cservice");
  head.set(http::field::content_type, answer.content_type);
  head.set(http::field::cache_control, "no-store");
  head.set("X-Accel-Buffering", "no");  // nginx and the like: pass each chunk on at once
  head.keep_alive(false);
  head.chunked(true);
  http::response_serializer<http::empty_body> serializer(head);
  transport.expires_after(core.limits.write_timeout);
  if (auto [error, n] = co_await http::async_write_header(stream, serializer, use_tuple);
      error || connection.closed) {
    co_return;
  }
  for (;;) {
    // Dropped for reading too slowly: nothing more can reach it, so just close.
    if (body.overflowed()) co_return;
    std::string chunk = body.take();
    if (chunk.empty()) {
      if (body.ended()) break;
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor,
                                      body.heartbeat_interval());
      boost::system::error_code woken;
      {
        const HttpStream::Waiting body_waiting(body, timer);
        const LiveConnection::Waiting connection_waiting(connection, timer);
        auto [error] = co_await timer.async_wait(use_tuple);
        woken = error;
      }
      if (connection.closed) co_return;
      if (woken) continue;  // something came, or the end
      chunk = body.heartbeat();
    }
    transport.expires_after(core.limits.write_timeout);
    auto [error, n] = co_await boost::asio::async_write(
        stream, http::make_chunk(boost::asio::buffer(chunk)), use_tuple);
    if (error || connection.closed) co_return;
  }
  transport.expires_after(core.limits.write_timeout);
  co_await boost::asio::async_write(stream, http::make_chunk_last(), use_tuple);
}

// Serves requests on `stream` until the caller hangs up, a deadline passes, an answer closes
// the connection, or the server closes it from outside. The caller then shuts the stream down.
template <class Stream>
boost::asio::awaitable<void> serve_requests(Stream& stream, ServerCore& core,
                                            LiveConnection& connection) {
  namespace http = boost::beast::http;
  auto& transport = boost::beast::get_lowest_layer(stream);
  const HttpLimits& limits = core.limits;
  boost::beast::flat_buffer buffer(limits.max_header_bytes + limits.max_body_bytes);
  for (bool first = true;; first = false) {
    if (!first) {
      // Keep-alive: idle, and reclaimable by a request that needs the slot, until the first
      // byte of the next request; from then on it has head_timeout for the head.
      if (buffer.size() == 0) {
        transport.expires_after(limits.idle_timeout);
        auto [idle_error, n] =
            co_await stream.async_read_some(buffer.prepare(limits.max_header_bytes), use_tuple);
        if (idle_error || connection.closed) co_return;
        buffer.commit(n);
      }
      core.connections.busy(connection);
    }

    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    transport.expires_after(limits.head_timeout);
    auto [head_error, head_bytes] =
        co_await http::async_read_header(stream, buffer, parser, use_tuple);
    if (head_error) {
      if (const auto refusal = refusal_for(head_error)) {
        co_await write_answer(stream, connection, limits, *refusal, 11, false);
      }
      co_return;
    }
    const unsigned version = parser.get().version();
    HttpRequest request;
    request.method = std::string(parser.get().method_string());
    request.target = std::string(parser.get().target());
    request.authorization = std::string(parser.get()[http::field::authorization]);
    request.last_event_id = std::string(parser.get()["Last-Event-ID"]);
    request.peer = connection.peer;

    if (!is_authenticated(core, request)) {
      // No slot and no body for a caller without a key: its answer (a refusal, at once) and
      // the connection closed.
      const auto answer =
          co_await answer_of(core, connection, std::move(request), limits.head_timeout);
      if (answer) {
        co_await write_answer(stream, connection, limits, answer->response, version, false);
      }
      co_return;
    }
    if (!co_await core.connections.admit(connection)) {
      co_await write_answer(stream, connection, limits,
                            error_response(503, "busy: too many requests waiting; try again"),
                            version, false);
      co_return;
    }
    if (!parser.is_done()) {
      transport.expires_after(limits.read_timeout);
      auto [body_error, body_bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
      if (body_error) {
        if (const auto refusal = refusal_for(body_error)) {
          co_await write_answer(stream, connection, limits, *refusal, version, false);
        }
        co_return;
      }
    }
    const bool wants_keep_alive = parser.get().keep_alive();
    request.body = parser.release().body();

    const auto answer = co_await answer_of(core, connection, std::move(request),
                                           limits.answer_timeout);
    if (!answer) co_return;
    if (answer->response.stream) {
      co_await write_stream(stream, core, connection, answer->response, version);
      co_return;
    }
    // Requests waiting for a slot: this connection closes after its answer and hands its slot
    // over, rather than idling on it.
    const bool keep_alive =
        wants_keep_alive && !answer->close && core.connections.admission().queued() == 0;
    if (!co_await write_answer(stream, connection, limits, answer->response, version,
                               keep_alive)) {
      co_return;
    }
    if (!core.connections.released(connection)) co_return;
  }
}

}  // namespace cservice::controlplane::detail
