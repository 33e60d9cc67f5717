#include "control/worker_channel.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <random>

#include "base/clock.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/rate_limiter.hpp"
#include "control/coroutines.hpp"
#include "control/worker_channel_request.hpp"

namespace cservice::controlplane {

namespace asio = boost::asio;
using asio::local::stream_protocol;

namespace {

std::string answer_line(const Outcome& outcome) {
  return commands::to_json(outcome).dump(-1, ' ', false,
                                         nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace

// {"name": "...", "args": [...]} or an error text.
Result<std::pair<std::string, std::vector<nlohmann::json>>> parse_request(const std::string& line) {
  const auto request = parse_json(line);
  if (request.is_discarded() || !request.is_object()) {
    return make_error(errc::bad_request, "expected a JSON object {\"name\": ..., \"args\": [...]}");
  }
  const auto name = request.find("name");
  if (name == request.end() || !name->is_string() || name->get<std::string>().empty()) {
    return make_error(errc::bad_request, "\"name\" must be a command or event name");
  }
  std::vector<nlohmann::json> args;
  if (const auto list = request.find("args"); list != request.end()) {
    if (!list->is_array()) return make_error(errc::bad_request, "\"args\" must be an array");
    args.assign(list->begin(), list->end());
  }
  return std::pair{name->get<std::string>(), std::move(args)};
}

struct WorkerChannel::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, Authorize a, Handler h)
      : acceptor(io), authorize(std::move(a)), handler(std::move(h)) {}

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(stream_protocol::socket socket);

  stream_protocol::acceptor acceptor;
  Authorize authorize;
  Handler handler;
  std::string address;
  std::size_t connections = 0;
  // Refused connections still lingering: bounded, so that a flood of outsiders' connections
  // cannot hold the master's descriptors.
  std::shared_ptr<std::size_t> lingering = std::make_shared<std::size_t>(0);
  bool closed = false;
  SteadyClock clock;
  RateLimiter refusals{clock};  // any local process may connect in a loop
};

namespace {

// A lingering close of a refused connection: the peer may not have sent its request yet, and
// its send to a closed socket would fail before it could read the refusal. So stop writing,
// then wait for the peer to close, a second at most, discarding what it sends. Past
// kMaxLingering such sockets, a refused one is closed at once.
constexpr std::size_t kMaxLingering = 64;

void linger_close(stream_protocol::socket socket, const std::shared_ptr<std::size_t>& lingering) {
  if (*lingering >= kMaxLingering) return;  // `socket` closes here
  struct Linger : std::enable_shared_from_this<Linger> {
    Linger(stream_protocol::socket s, std::shared_ptr<std::size_t> c)
        : socket(std::move(s)), deadline(socket.get_executor()), count(std::move(c)) {
      ++*count;
    }
    ~Linger() { --*count; }
    Linger(const Linger&) = delete;
    Linger& operator=(const Linger&) = delete;
    void read() {
      socket.async_read_some(asio::buffer(discard), [self = shared_from_this()](
                                                         const boost::system::error_code& ec,
                                                         std::size_t) {
        if (ec) {
          self->deadline.cancel();
          return;
        }
        self->read();
      });
    }
    stream_protocol::socket socket;
    asio::steady_timer deadline;
    std::shared_ptr<std::size_t> count;
    std::array<char, 512> discard{};
  };
  auto linger = std::make_shared<Linger>(std::move(socket), lingering);
  boost::system::error_code ignored;
  linger->socket.shutdown(stream_protocol::socket::shutdown_send, ignored);
  linger->deadline.expires_after(std::chrono::seconds(1));
  linger->deadline.async_wait([linger](const boost::system::error_code& ec) {
    boost::system::error_code unused;
    if (!ec) linger->socket.close(unused);
  });
  linger->read();
}

}  // namespace

asio::awaitable<void> WorkerChannel::Impl::accept_loop() {
  auto self = shared_from_this();
  co_await accept_connections(
      acceptor, closed, "worker channel",
      [this](stream_protocol::socket socket) { return serve(std::move(socket)); });
}

asio::awaitable<void> WorkerChannel::Impl::serve(stream_protocol::socket socket) {
  auto self = shared_from_this();
  ucred peer{};
  socklen_t length = sizeof peer;
  std::optional<Pid> worker;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &length) == 0) {
    worker = authorize(PeerCredentials{Pid{peer.pid}, peer.uid});
  }
  if (!worker || connections >= kMaxConnections) {
    if (const auto held = refusals.admit(worker ? "busy" : "not a worker")) {
      log::warn("worker channel: refused pid {}: {}{}", peer.pid,
                worker ? "too many connections" : "not a worker of this service",
                suppressed_note(*held));
    }
    const std::string refusal =
        answer_line(worker ? commands::failure(503, "too many connections")
                           : commands::failure(401, "not a worker of this service"));
    co_await asio::async_write(socket, asio::buffer(refusal), use_tuple);
    linger_close(std::move(socket), lingering);
    co_return;
  }
  const CountedConnection counted(connections);

  asio::streambuf buffer(kMaxLineBytes);
  while (!closed) {
    auto [read_error, n] = co_await asio::async_read_until(socket, buffer, '\n', use_tuple);
    if (read_error == asio::error::not_found) {
      const std::string refusal = answer_line({400, {}, "request line too long"});
      co_await asio::async_write(socket, asio::buffer(refusal), use_tuple);
      co_return;
    }
    if (read_error) co_return;  // the worker closed the connection (or exited)
    std::string line(asio::buffers_begin(buffer.data()),
                     asio::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(n) - 1);
    buffer.consume(n);
    auto request = parse_request(line);
    if (!request) {
      const std::string refusal = answer_line({400, {}, request.error().message});
      co_await asio::async_write(socket, asio::buffer(refusal), use_tuple);
      co_return;
    }
    // The handler may answer much later (restart all).
    auto pending = std::make_shared<PendingAnswer<Outcome>>(socket.get_executor());
    handler(*worker, std::move(request->first), std::move(request->second),
            PendingAnswer<Outcome>::callback(pending));
    const auto outcome = co_await pending->wait();
    if (!outcome) co_return;  // the channel is closing
    const std::string reply = answer_line(*outcome);
    auto [write_error, written] =
        co_await asio::async_write(socket, asio::buffer(reply), use_tuple);
    if (write_error) co_return;
  }
}

Result<std::unique_ptr<WorkerChannel>> WorkerChannel::open(asio::io_context& io,
                                                           Authorize authorize, Handler handler) {
  auto impl = std::make_shared<Impl>(io, std::move(authorize), std::move(handler));
  std::random_device random;
  const std::string name = fmt::format("cservice-control/{}/{:08x}", ::getpid(), random());
  // Abstract namespace (a leading NUL): nothing on disk, gone with the master.
  const stream_protocol::endpoint endpoint(std::string(1, '\0') + name);
  boost::system::error_code ec;
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return os_error("worker channel: bind", ec.value());
  impl->address = "@" + name;
  asio::co_spawn(io, impl->accept_loop(), asio::detached);
  return std::unique_ptr<WorkerChannel>(new WorkerChannel(std::move(impl)));
}

WorkerChannel::~WorkerChannel() {
  impl_->closed = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

const std::string& WorkerChannel::address() const { return impl_->address; }

}  // namespace cservice::controlplane
