// hello_worker: a small HTTP server that answers "hello from pid N" — the example worker for
// cservice, and the worker our zero-downtime tests and benchmarks load.
//
// Options: --port P (standalone), --body TEXT (answers "TEXT from pid N"; default "hello"),
// --no-notify (never says READY=1, as a program that knows nothing of cservice: the master's
// `auto` mode counts it ready after readyGraceMs), --fail-on FILE (a build that fails later:
// once FILE exists and holds this worker's CSERVICE_WORKER_ID, it drains as on SIGTERM and then
// exits 1, so the failure itself loses no request).
// Under cservice it serves on the listening socket the master passes (LISTEN_FDS) and says
// READY=1 once it accepts. Standalone it binds --port itself (for comparing with and without
// the supervisor). On SIGTERM it drains: it closes its listener at once (the master's copy keeps
// queuing connections for the other workers), finishes requests in flight, answers the next
// request on each keep-alive connection with "Connection: close", closes connections that stay
// idle, and exits 0 when the last connection is done.

#include <cservice/worker.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <functional>
#include <cstdlib>
#include <list>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// A connection may wait this long for its next request to arrive whole.
constexpr std::chrono::milliseconds kIdleTimeout{60'000};
// An answer must be sent within this.
constexpr auto kWriteTimeout = std::chrono::seconds(30);
// While draining, a keep-alive connection with no request for this long is closed.
constexpr std::chrono::milliseconds kDrainIdle{1000};
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A connection waiting for its next request. `buffer` empty means no byte of it has arrived.
struct Waiting {
  beast::tcp_stream* stream;
  const beast::flat_buffer* buffer;
};

struct Server {
  explicit Server(asio::io_context& io) : acceptor(io), drain_timer(io) {}
  tcp::acceptor acceptor;
  asio::steady_timer drain_timer;
  std::string body;
  bool draining = false;
  // The drain closes those still waiting, with nothing received, after kDrainIdle. One with a
  // request under way always gets its answer.
  std::list<Waiting> waiting;
};

asio::awaitable<void> serve_connection(Server& server, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> request;
    stream.expires_after(server.draining ? kDrainIdle : kIdleTimeout);
    const auto waiting = server.waiting.insert(server.waiting.end(), Waiting{&stream, &buffer});
    auto [read_error, read_bytes] = co_await http::async_read(stream, buffer, request, use_tuple);
    server.waiting.erase(waiting);
    if (read_error) break;  // closed by the client, timed out, cancelled by the drain, malformed

    http::response<http::string_body> response(http::status::ok, request.version());
    response.set(http::field::server, "cservice-hello");
    response.set(http::field::content_type, "text/plain");
    response.body() = server.body;
    response.keep_alive(request.keep_alive() && !server.draining);
    response.prepare_payload();
    stream.expires_after(kWriteTimeout);
    auto [write_error, write_bytes] = co_await http::async_write(stream, response, use_tuple);
    if (write_error || !response.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(Server& server) {
  for (;;) {
    auto [error, socket] = co_await server.acceptor.async_accept(use_tuple);
    if (error) {
      if (error == asio::error::operation_aborted || !server.acceptor.is_open()) co_return;
      continue;  // EMFILE, ECONNABORTED...: keep serving
    }
    asio::co_spawn(server.acceptor.get_executor(), serve_connection(server, std::move(socket)),
                   asio::detached);
  }
}

void start_drain(Server& server) {
  std::fprintf(stderr, "hello_worker: draining %zu idle connection(s)\n", server.waiting.size());
  server.draining = true;
  beast::error_code ignored;
  server.acceptor.close(ignored);  // only our copy: the master's socket keeps queuing
  // A loaded client's next request arrives well within kDrainIdle and is answered with
  // "Connection: close"; connections still idle then are closed.
  server.drain_timer.expires_after(kDrainIdle);
  server.drain_timer.async_wait([&server](const beast::error_code& ec) {
    if (ec) return;
    for (const Waiting& w : server.waiting) {
      if (w.buffer->size() == 0) w.stream->cancel();
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  int port = 8080;
  std::string greeting = "hello";
  bool notify = true;
  std::string fail_on;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--no-notify") notify = false;
    if (i + 1 == argc) break;
    if (arg == "--port") port = std::atoi(argv[i + 1]);
    if (arg == "--body") greeting = argv[i + 1];
    if (arg == "--fail-on") fail_on = argv[i + 1];
  }
  asio::io_context io;
  Server server(io);
  server.body = greeting + " from pid " + std::to_string(::getpid()) + "\n";

  beast::error_code error;
  const int inherited = cservice::listen_fd();
  if (inherited >= 0) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    ::getsockname(inherited, reinterpret_cast<sockaddr*>(&address), &length);
    server.acceptor.assign(address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), inherited,
                           error);
  } else {
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"),
                                 static_cast<unsigned short>(port));
    server.acceptor.open(endpoint.protocol(), error);
    if (!error) server.acceptor.set_option(tcp::acceptor::reuse_address(true), error);
    if (!error) server.acceptor.bind(endpoint, error);
    if (!error) server.acceptor.listen(asio::socket_base::max_listen_connections, error);
  }
  if (error) {
    std::fprintf(stderr, "hello_worker: listen: %s\n", error.message().c_str());
    return 1;
  }

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const beast::error_code& ec, int) {
    if (!ec) start_drain(server);
  });
  asio::co_spawn(io, accept_loop(server), asio::detached);
  int status = 0;
  asio::steady_timer poll(io);
  std::function<void()> watch = [&] {
    poll.expires_after(std::chrono::milliseconds(20));
    poll.async_wait([&](const beast::error_code& ec) {
      if (ec || server.draining) return;
      const char* id = std::getenv("CSERVICE_WORKER_ID");
      if (std::FILE* f = std::fopen(fail_on.c_str(), "r")) {
        char wanted[16] = {};
        const bool read = std::fgets(wanted, sizeof wanted, f) != nullptr;
        std::fclose(f);
        if (read && id != nullptr && std::atoi(wanted) == std::atoi(id)) {
          std::fprintf(stderr, "hello_worker: %s says worker %s fails\n", fail_on.c_str(), id);
          status = 1;
          signals.cancel();
          start_drain(server);
          return;
        }
      }
      watch();
    });
  };
  if (!fail_on.empty()) watch();
  if (notify) cservice::worker_ready();
  io.run();
  return status;
}
