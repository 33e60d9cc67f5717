// The REST API stays available to callers with a key: a worker's bad STATUS text, a crowd of
// keyless or slow connections and a burst of honest calls neither silence it nor lose answers.
// The real binary, over real sockets.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <csignal>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <thread>

namespace cservice::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr const char* kKey = "hardening-key-51c2";

// A raw TCP connection to 127.0.0.1, for callers that misbehave.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(RawConnection&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), connected_(other.connected_) {}
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  RawConnection& operator=(RawConnection&&) = delete;

  bool connected() const { return connected_; }
  void send(std::string_view bytes) const { ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }

  // Reads until the server closes the connection (end of file or reset), `timeout` at most.
  // True if it did.
  bool closed_by_server(std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

// Lets this process hold the sockets of a burst.
void raise_descriptor_limit(rlim_t wanted) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// `count` concurrent POST /cli?cmd=<line> with the key, each on its own connection; the status
// of each (0: no answer within `timeout`).
std::vector<unsigned> concurrent_calls(int port, const std::string& line, int count,
                                       std::chrono::milliseconds timeout) {
  asio::io_context io;
  std::vector<unsigned> statuses(static_cast<std::size_t>(count), 0);
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"),
                                         static_cast<unsigned short>(port));
  const std::string target = "/cli?cmd=" + url_encode(line);
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          beast::tcp_stream stream(io);
          stream.expires_after(timeout);
          auto [connect_error] = co_await stream.async_connect(endpoint, use_tuple);
          if (connect_error) co_return;
          http::request<http::empty_body> request(http::verb::post, target, 11);
          request.set(http::field::host, "127.0.0.1");
          request.set(http::field::authorization, std::string("Bearer ") + kKey);
          request.keep_alive(false);
          auto [write_error, written] = co_await http::async_write(stream, request, use_tuple);
          if (write_error) co_return;
          beast::flat_buffer buffer;
          http::response<http::string_body> response;
          auto [read_error, read] = co_await http::async_read(stream, buffer, response, use_tuple);
          if (!read_error) statuses[i] = response.result_int();
        },
        asio::detached);
  }
  io.run();
  return statuses;
}

class HttpHardeningTest : public IntegrationTest {
 protected:
  ServiceProcess& start_service(std::vector<std::string> worker_args = {}) {
    std::vector<std::string> args = {"--workers", "1",    "--ready", "notify", "--access-key",
                                     kKey,        "--host", "127.0.0.1", "--port", "0",
                                     test_worker_binary(), "--",  "--ready-after", "0"};
    args.insert(args.end(), worker_args.begin(), worker_args.end());
    auto& service = start(args);
    port_ = service.api_port();
    EXPECT_TRUE(service.wait_for("starting -> ready", 10s, "the worker ready"));
    return service;
  }
  void stop(ServiceProcess& service) {
    service.signal(SIGTERM);
    EXPECT_EQ(service.wait_exit(10s), 0);
  }

  // `calls` keyed calls one after another, each answered 200 within `within`.
  void expect_served_soon(int calls, std::chrono::milliseconds within) {
    for (int i = 0; i < calls; ++i) {
      const auto started = Clock::now();
      const auto answer = run_command(port_, kKey, "version", 10s);
      EXPECT_EQ(answer.status, 200) << "call " << i << ": " << answer.body;
      EXPECT_LT(Clock::now() - started, within) << "call " << i;
    }
  }

  int port_ = -1;
};

TEST_F(HttpHardeningTest, AWorkerStatusThatIsNotUtf8NeitherSilencesNorLocksTheApi) {
  // The worker says STATUS=\xff\xfe before READY=1, so `workers` has it to show.
  auto& service = start_service({"--status", "\xff\xfe"});
  for (int i = 0; i < 70; ++i) {  // more than the 64 connections a lost answer used to hold
    const auto answer = run_command(port_, kKey, "workers", 5s);
    ASSERT_EQ(answer.status, 200) << "call " << i << ": " << answer.body;
    const auto workers = nlohmann::json::parse(answer.body, nullptr, false);
    ASSERT_FALSE(workers.is_discarded()) << answer.body;
    EXPECT_TRUE(workers["workers"][0].contains("status")) << answer.body;
  }
  EXPECT_EQ(run_command(port_, kKey, "version", 5s).status, 200);
  stop(service);
}

// Sends `byte` on each of `connections` every 100 ms (the attack's pace, not a
// synchronisation) until it is destroyed.
class Trickle {
 public:
  Trickle(const std::vector<RawConnection>& connections, std::string byte)
      : thread_([this, &connections, byte = std::move(byte)] {
          while (running_) {
            for (const auto& connection : connections) connection.send(byte);
            std::this_thread::sleep_for(100ms);
          }
        }) {}
  ~Trickle() {
    running_ = false;
    thread_.join();
  }
  Trickle(const Trickle&) = delete;
  Trickle& operator=(const Trickle&) = delete;

 private:
  std::atomic<bool> running_{true};
  std::thread thread_;
};

TEST_F(HttpHardeningTest, KeylessSilentAndSlowConnectionsDoNotLockOutACallerWithAKey) {
  raise_descriptor_limit(2048);
  auto& service = start_service();
  // 100 of each: a keyless request, then idle; nothing at all; a head that trickles in.
  std::vector<RawConnection> keyless, silent, slow;
  for (int i = 0; i < 100; ++i) {
    keyless.emplace_back(port_);
    keyless.back().send("POST /cli?cmd=workers HTTP/1.1\r\nHost: x\r\n\r\n");
    silent.emplace_back(port_);
    slow.emplace_back(port_);
    slow.back().send("POST /cli?cmd=workers HTTP/1.1\r\n");
    ASSERT_TRUE(keyless.back().connected() && silent.back().connected() && slow.back().connected());
  }
  const Trickle trickle(slow, "X");
  expect_served_soon(10, 5s);
  // A keyless caller gets its 401 and its connection closed, at once; a slow head at its deadline.
  for (const auto& connection : keyless) EXPECT_TRUE(connection.closed_by_server(5s));
  for (const auto& connection : slow) EXPECT_TRUE(connection.closed_by_server(5s));
  stop(service);
}

// A key holder (even one whose key may run `health` only) that sends heads and trickles their
// bodies holds authenticated slots only until the body's deadline: others are served soon.
TEST_F(HttpHardeningTest, SlowBodiesOfAKeyHolderDoNotStallOtherCallersForLong) {
  raise_descriptor_limit(2048);
  auto& service = start_service();
  std::vector<RawConnection> slow;
  for (int i = 0; i < 100; ++i) {
    slow.emplace_back(port_);
    slow.back().send(std::string("POST /cli?cmd=health HTTP/1.1\r\nHost: x\r\nAuthorization: "
                                 "Bearer ") +
                     kKey + "\r\nContent-Length: 60000\r\n\r\n");
    ASSERT_TRUE(slow.back().connected());
  }
  const Trickle trickle(slow, "a");
  expect_served_soon(5, 5s);
  for (const auto& connection : slow) EXPECT_TRUE(connection.closed_by_server(5s));
  stop(service);
}

TEST_F(HttpHardeningTest, ABurstOf500CallsWithAKeyIsServedWholeWithout503) {
  raise_descriptor_limit(2048);
  auto& service = start_service();
  const auto statuses = concurrent_calls(port_, "version", 500, 60s);
  std::map<unsigned, int> by_status;
  for (const unsigned status : statuses) ++by_status[status];
  EXPECT_EQ(by_status[200], 500) << "503: " << by_status[503] << ", no answer: " << by_status[0];
  stop(service);
}

}  // namespace
}  // namespace cservice::testing
