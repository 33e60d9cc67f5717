#include "control/http_server.hpp"

#include "base/log.hpp"
#include "control/coroutines.hpp"
#include "control/http_session.hpp"
#include "control/http_tls.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace cservice::controlplane {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

namespace {

// Out of descriptors or memory: the connection stays in the backlog and accept fails again at
// once, so the loop must pause rather than spin.
bool is_exhaustion(const boost::system::error_code& error) {
  if (error.category() != boost::system::system_category()) return false;
  const int e = error.value();
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

void log_failure(const std::exception_ptr& failure) {
  if (!failure) return;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    log::error("control: http: {}", e.what());
  } catch (...) {
    log::error("control: http: unknown exception");
  }
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, std::shared_ptr<detail::ServerCore> c)
      : acceptor(io), core(std::move(c)) {}

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(tcp::socket socket);

  tcp::acceptor acceptor;
  std::shared_ptr<detail::ServerCore> core;
  std::shared_ptr<detail::TlsServer> tls;  // null: plain HTTP
  bool closed = false;
};

asio::awaitable<void> HttpServer::Impl::accept_loop() {
  auto self = shared_from_this();
  asio::steady_timer pause(acceptor.get_executor());
  while (!closed) {
    co_await core->connections.wait_for_room();
    if (closed) co_return;
    auto [error, socket] = co_await acceptor.async_accept(use_tuple);
    if (error) {
      if (error == asio::error::operation_aborted || closed) co_return;
      log::warn("control: http: accept: {}", error.message());
      if (is_exhaustion(error)) {
        core->connections.reclaim_idle();
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(use_tuple);
      }
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), log_failure);
  }
}

asio::awaitable<void> HttpServer::Impl::serve(tcp::socket socket) {
  auto self = shared_from_this();
  if (tls) {
    co_await detail::serve_tls(*core, *tls, std::move(socket));
    co_return;
  }
  beast::tcp_stream stream(std::move(socket));
  LiveConnection connection;
  boost::system::error_code peer_error;
  connection.peer = stream.socket().remote_endpoint(peer_error).address();
  connection.socket = &stream.socket();
  const LiveConnection::Registration registration(core->connections, connection);
  co_await detail::serve_requests(stream, *core, connection);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

Result<std::unique_ptr<HttpServer>> HttpServer::open(asio::io_context& io, const std::string& host,
                                                     std::uint16_t port, HttpLimits limits,
                                                     Handler handler, Authenticate authenticate,
                                                     const std::optional<TlsFiles>& tls) {
  auto core =
      std::make_shared<detail::ServerCore>(limits, std::move(handler), std::move(authenticate));
  auto impl = std::make_shared<Impl>(io, std::move(core));
  if (tls) {
    auto context = detail::load_tls_server(*tls);
    if (!context) return context.error();
    impl->tls = std::move(*context);
  }
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
      // The kernel hands over a connection only once it has sent something (or after the
      // head deadline): silent connections cost no descriptor meanwhile. Best effort.
      const auto seconds = std::chrono::ceil<std::chrono::seconds>(limits.head_timeout).count();
      const int defer = static_cast<int>(std::max<std::chrono::seconds::rep>(seconds, 1));
      ::setsockopt(acceptor.native_handle(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer);
      asio::co_spawn(io, impl->accept_loop(), log_failure);
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
  if (endpoint.address().is_v6()) {
    return fmt::format("[{}]:{}", endpoint.address().to_string(), endpoint.port());
  }
  return fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
}

std::string HttpServer::scheme() const { return impl_->tls ? "https" : "http"; }

}  // namespace cservice::controlplane
