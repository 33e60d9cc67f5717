#include "control/http_server.hpp"

#include "base/log.hpp"
#include "control/coroutines.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace cservice::controlplane {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

http::response<http::string_body> make_response(const HttpResponse& answer, unsigned version,
                                                bool keep_alive) {
  http::response<http::string_body> response(static_cast<http::status>(answer.status), version);
  response.set(http::field::server, "cservice");
  response.set(http::field::content_type, answer.content_type);
  response.set(http::field::cache_control, "no-store");
  response.body() = answer.body;
  response.keep_alive(keep_alive);
  response.prepare_payload();
  return response;
}

HttpResponse error_response(unsigned status, std::string text) {
  return {status, "text/plain; charset=utf-8", std::move(text) + "\n"};
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, HttpLimits l, Handler h)
      : acceptor(io), limits(l), handler(std::move(h)) {}

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(tcp::socket socket);

  tcp::acceptor acceptor;
  HttpLimits limits;
  Handler handler;
  std::size_t connections = 0;
  bool closed = false;
};

asio::awaitable<void> HttpServer::Impl::accept_loop() {
  auto self = shared_from_this();
  co_await accept_connections(acceptor, closed, "http",
                              [this](tcp::socket socket) { return serve(std::move(socket)); });
}

asio::awaitable<void> HttpServer::Impl::serve(tcp::socket socket) {
  auto self = shared_from_this();
  beast::tcp_stream stream(std::move(socket));
  if (connections >= limits.max_connections) {
    // Over the cap: a quick, bounded refusal rather than a queue the loop would have to hold.
    stream.expires_after(limits.write_timeout);
    auto refusal = make_response(error_response(503, "too many connections"), 11, false);
    co_await http::async_write(stream, refusal, use_tuple);
    co_return;
  }
  const CountedConnection counted(connections);

  boost::system::error_code peer_error;
  const auto peer = stream.socket().remote_endpoint(peer_error).address();
  beast::flat_buffer buffer(limits.max_header_bytes + limits.max_body_bytes);
  bool first = true;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    stream.expires_after(first ? limits.read_timeout : limits.idle_timeout);
    first = false;
    auto [read_error, read_bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (read_error) {
      // A time-out has already closed the stream (Beast does): a slow client just loses it.
      std::optional<HttpResponse> refusal;
      if (read_error == http::error::body_limit || read_error == http::error::header_limit) {
        refusal = error_response(413, "request too large");
      } else if (read_error.category() == make_error_code(http::error::bad_target).category()) {
        refusal = error_response(400, "malformed HTTP request: " + read_error.message());
      }
      if (refusal) {
        stream.expires_after(limits.write_timeout);
        auto response = make_response(*refusal, 11, false);
        co_await http::async_write(stream, response, use_tuple);
      }
      break;
    }
    auto request = parser.release();

    HttpRequest incoming;
    incoming.method = std::string(request.method_string());
    incoming.target = std::string(request.target());
    incoming.authorization = std::string(request[http::field::authorization]);
    incoming.body = std::move(request.body());
    incoming.peer = peer;

    // The handler may answer at once or much later; the connection waits for it, and the
    // answer is dropped if the connection went away meanwhile.
    auto pending = std::make_shared<PendingAnswer<HttpResponse>>(stream.get_executor());
    handler(std::move(incoming), PendingAnswer<HttpResponse>::callback(pending));
    auto answer = co_await pending->wait();
    if (!answer) break;  // the server is closing

    const bool keep_alive = request.keep_alive();
    auto response = make_response(*answer, request.version(), keep_alive);
    stream.expires_after(limits.write_timeout);
    auto [write_error, written] = co_await http::async_write(stream, response, use_tuple);
    if (write_error || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

Result<std::unique_ptr<HttpServer>> HttpServer::open(asio::io_context& io, const std::string& host,
                                                     std::uint16_t port, HttpLimits limits,
                                                     Handler handler) {
  auto impl = std::make_shared<Impl>(io, limits, std::move(handler));
  const std::string where = fmt::format("control {}:{}", host, port);
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return make_error(errc::bad_config, fmt::format("{}: {}", where, ec.message()));
  Error last = os_error(where, EADDRNOTAVAIL);
  for (const auto& entry : results) {
    tcp::acceptor& acceptor = impl->acceptor;
    boost::system::error_code step;
    acceptor.open(entry.endpoint().protocol(), step);
    if (!step) acceptor.set_option(tcp::acceptor::reuse_address(true), step);
    if (!step) acceptor.bind(entry.endpoint(), step);
    if (!step) acceptor.listen(asio::socket_base::max_listen_connections, step);
    if (!step) {
      asio::co_spawn(io, impl->accept_loop(), asio::detached);
      return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
    }
    last = os_error(where, step.value());
    boost::system::error_code ignored;
    acceptor.close(ignored);
  }
  return last;
}

HttpServer::~HttpServer() {
  impl_->closed = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

std::uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string HttpServer::address() const {
  const auto endpoint = impl_->acceptor.local_endpoint();
  if (endpoint.address().is_v6()) return fmt::format("[{}]:{}", endpoint.address().to_string(), endpoint.port());
  return fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
}

}  // namespace cservice::controlplane
