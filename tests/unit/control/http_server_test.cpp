// HttpServer on a loopback socket, with handlers that misbehave and limits small enough to
// reach: every request is answered, and keyless or idle connections never keep a keyed caller
// out. Client and server share one io_context, so there is no thread and no sleep.

#include "control/http_server.hpp"

#include "base/log.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <functional>
#include <stdexcept>

namespace cservice::controlplane {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct Reply {
  unsigned status = 0;  // 0: no answer
  std::string body;
  bool closed_after = false;  // the server closed the connection after the answer
};

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() {
    log::set_sink([](log::Level, std::string_view) {});
  }
  ~HttpServerTest() override { log::reset_sink(); }

  // Starts the server; requests whose Authorization is "Bearer key" are authenticated.
  void start(HttpServer::Handler handler, HttpLimits limits = {}) {
    auto server = HttpServer::open(
        io_, "127.0.0.1", 0, limits, std::move(handler),
        [](const HttpRequest& head) { return head.authorization == "Bearer key"; });
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
  }

  asio::awaitable<tcp::socket> connect() {
    tcp::socket socket(io_);
    co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), server_->port()},
                                  asio::use_awaitable);
    co_return socket;
  }

  // A connection that has sent the first bytes of a request head, and no more.
  asio::awaitable<tcp::socket> trickling() {
    auto socket = co_await connect();
    co_await asio::async_write(socket, asio::buffer(std::string_view("POST /cli HT")), use_tuple);
    co_return socket;
  }

  // What to look for after the answer: whether the server closes the connection, or nothing.
  enum class After { CheckClose, Nothing };

  // One POST on `socket`.
  asio::awaitable<Reply> exchange(tcp::socket& socket, const std::string& authorization,
                                  After after) {
    http::request<http::string_body> request(http::verb::post, "/cli?cmd=x", 11);
    request.set(http::field::host, "127.0.0.1");
    if (!authorization.empty()) request.set(http::field::authorization, authorization);
    request.body() = "payload";
    request.prepare_payload();
    Reply reply;
    auto [write_error, written] = co_await http::async_write(socket, request, use_tuple);
    if (write_error) co_return reply;
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    auto [read_error, read] = co_await http::async_read(socket, buffer, response, use_tuple);
    if (read_error) co_return reply;
    reply.status = response.result_int();
    reply.body = response.body();
    if (after == After::CheckClose) {
      char byte = 0;
      auto [eof, n] = co_await asio::async_read(socket, asio::buffer(&byte, 1), use_tuple);
      reply.closed_after = eof == asio::error::eof || eof == asio::error::connection_reset;
    }
    co_return reply;
  }

  asio::awaitable<Reply> request(const std::string& authorization, After after) {
    auto socket = co_await connect();
    co_return co_await exchange(socket, authorization, after);
  }

  // Lets the loop run (the server's side too) until `done()` holds.
  asio::awaitable<void> until(const std::function<bool()>& done) {
    asio::steady_timer tick(io_);
    while (!done()) {
      tick.expires_after(1ms);
      co_await tick.async_wait(use_tuple);
    }
  }

  static asio::awaitable<bool> closed_by_server(tcp::socket& socket) {
    char byte = 0;
    auto [error, n] = co_await asio::async_read(socket, asio::buffer(&byte, 1), use_tuple);
    co_return error == asio::error::eof || error == asio::error::connection_reset;
  }

  // Runs `client` to completion on the loop (5 s at most) and returns its result.
  template <class T>
  T run(asio::awaitable<T> client) {
    std::optional<T> result;
    asio::co_spawn(io_, std::move(client), [&](std::exception_ptr e, T value) {
      if (!e) result = std::move(value);
      io_.stop();
    });
    io_.run_for(5s);
    io_.restart();
    EXPECT_TRUE(result) << "the client did not finish";
    return result.value_or(T{});
  }

  static void answer_ok(HttpRequest request, HttpServer::Respond respond) {
    respond({200, "text/plain", "ok " + request.body});
  }

  asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, AHandlerThatThrowsGets500AndTheConnectionClosed) {
  start([](HttpRequest, HttpServer::Respond) { throw std::runtime_error("bug"); });
  const Reply reply = run(request("Bearer key", After::CheckClose));
  EXPECT_EQ(reply.status, 500u);
  EXPECT_TRUE(reply.closed_after);
}

TEST_F(HttpServerTest, AHandlerThatDropsItsCallbackGets500AndTheConnectionClosed) {
  std::vector<HttpServer::Respond> kept;
  start([this, &kept](HttpRequest, HttpServer::Respond respond) {
    kept.push_back(respond);  // copies, all dropped later: the last one gone answers
    asio::post(io_, [&kept] { kept.clear(); });
  });
  const Reply reply = run(request("Bearer key", After::CheckClose));
  EXPECT_EQ(reply.status, 500u);
  EXPECT_EQ(reply.body, "internal error: the request was dropped unanswered");
  EXPECT_TRUE(reply.closed_after);
}

TEST_F(HttpServerTest, AHandlerThatNeverAnswersGets504AtTheDeadline) {
  std::vector<HttpServer::Respond> kept;
  start([&kept](HttpRequest, HttpServer::Respond respond) { kept.push_back(std::move(respond)); },
        {.answer_timeout = 100ms});
  const Reply reply = run(request("Bearer key", After::CheckClose));
  EXPECT_EQ(reply.status, 504u);
  EXPECT_TRUE(reply.closed_after);
  kept.front()({200, "text/plain", "late"});  // a late answer is dropped quietly
}

TEST_F(HttpServerTest, AnAnswerLaterThanTheRequestStillArrives) {
  start([this](HttpRequest request, HttpServer::Respond respond) {
    asio::post(io_, [request, respond] { answer_ok(request, respond); });
  });
  const Reply reply = run(request("Bearer key", After::Nothing));
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, "ok payload");
}

TEST_F(HttpServerTest, ACallerWithoutAKeyIsAnsweredWithoutItsBodyAndDisconnected) {
  start([](HttpRequest request, HttpServer::Respond respond) {
    respond({401, "text/plain", "no key, body '" + request.body + "'"});
  });
  const Reply reply = run(request("", After::CheckClose));
  EXPECT_EQ(reply.status, 401u);
  EXPECT_EQ(reply.body, "no key, body ''");
  EXPECT_TRUE(reply.closed_after);
}

TEST_F(HttpServerTest, ACallerWithAKeyKeepsItsConnection) {
  start(answer_ok);
  const auto twice = [this]() -> asio::awaitable<Reply> {
    auto socket = co_await connect();
    const Reply first = co_await exchange(socket, "Bearer key", After::Nothing);
    if (first.status != 200) co_return first;
    co_return co_await exchange(socket, "Bearer key", After::Nothing);
  };
  EXPECT_EQ(run(twice()).status, 200u);
}

TEST_F(HttpServerTest, AnUnfinishedHeadIsClosedAtItsDeadline) {
  start(answer_ok, {.head_timeout = 100ms});
  const auto slow = [this]() -> asio::awaitable<bool> {
    auto socket = co_await trickling();
    co_return co_await closed_by_server(socket);
  };
  EXPECT_TRUE(run(slow()));
}

TEST_F(HttpServerTest, TricklingConnectionsMakeRoomForACallerWithAKey) {
  start(answer_ok, {.head_timeout = 400ms, .max_unauthenticated = 4,
                    .max_unauthenticated_per_peer = 4});
  const auto crowded = [this]() -> asio::awaitable<Reply> {
    std::vector<tcp::socket> slow;
    for (int i = 0; i < 8; ++i) slow.push_back(co_await trickling());
    co_return co_await request("Bearer key", After::Nothing);
  };
  EXPECT_EQ(run(crowded()).status, 200u);
}

TEST_F(HttpServerTest, RequestsBeyondTheSlotsWaitTheirTurnInsteadOf503) {
  std::vector<HttpServer::Respond> pending;
  start([&](HttpRequest, HttpServer::Respond respond) { pending.push_back(std::move(respond)); },
        {.max_connections = 1});
  const auto burst = [&]() -> asio::awaitable<std::vector<unsigned>> {
    http::request<http::empty_body> request(http::verb::post, "/", 11);
    request.set(http::field::authorization, "Bearer key");
    std::vector<tcp::socket> sockets;
    for (int i = 0; i < 3; ++i) {
      sockets.push_back(co_await connect());
      co_await http::async_write(sockets.back(), request, use_tuple);
    }
    // One slot: the handler has the first request; it answers each in turn.
    std::vector<unsigned> statuses;
    for (auto& socket : sockets) {
      co_await until([&] { return !pending.empty(); });
      auto respond = std::move(pending.front());
      pending.erase(pending.begin());
      respond({200, "text/plain", "ok"});
      beast::flat_buffer buffer;
      http::response<http::string_body> response;
      co_await http::async_read(socket, buffer, response, use_tuple);
      statuses.push_back(response.result_int());
    }
    co_return statuses;
  };
  EXPECT_EQ(run(burst()), (std::vector<unsigned>{200, 200, 200}));
}

TEST_F(HttpServerTest, AFullQueueOrAnExpiredWaitGets503) {
  std::vector<HttpServer::Respond> kept;
  start([&](HttpRequest, HttpServer::Respond respond) { kept.push_back(std::move(respond)); },
        {.queue_timeout = 100ms, .max_connections = 1, .max_queued = 1});
  const auto burst = [&]() -> asio::awaitable<std::vector<unsigned>> {
    http::request<http::empty_body> request(http::verb::post, "/", 11);
    request.set(http::field::authorization, "Bearer key");
    auto holder = co_await connect();  // takes the slot, never answered
    co_await http::async_write(holder, request, use_tuple);
    co_await until([&] { return !kept.empty(); });
    // One waits in the queue until its wait expires; the other finds the queue full at once.
    std::vector<tcp::socket> waiting;
    for (int i = 0; i < 2; ++i) {
      waiting.push_back(co_await connect());
      co_await http::async_write(waiting.back(), request, use_tuple);
    }
    std::vector<unsigned> statuses;
    for (auto& socket : waiting) {
      beast::flat_buffer buffer;
      http::response<http::string_body> response;
      co_await http::async_read(socket, buffer, response, use_tuple);
      statuses.push_back(response.result_int());
    }
    co_return statuses;
  };
  EXPECT_EQ(run(burst()), (std::vector<unsigned>{503, 503}));
  EXPECT_EQ(kept.size(), 1u) << "only the holder reached the handler";
}

TEST_F(HttpServerTest, AnIdleKeepAliveConnectionGivesItsSlotToAWaitingRequest) {
  start(answer_ok, {.max_connections = 1});
  const auto reclaim = [this]() -> asio::awaitable<std::pair<unsigned, bool>> {
    auto idle = co_await connect();
    const Reply first = co_await exchange(idle, "Bearer key", After::Nothing);
    const Reply second = co_await request("Bearer key", After::Nothing);
    const bool idle_closed = co_await closed_by_server(idle);
    co_return std::pair{first.status == 200 ? second.status : 0u, idle_closed};
  };
  const auto [status, idle_closed] = run(reclaim());
  EXPECT_EQ(status, 200u);
  EXPECT_TRUE(idle_closed);
}

}  // namespace
}  // namespace cservice::controlplane
