// library_service: cluster-service as a library. One binary is both the master and, re-executed
// by it, each worker (cservice::is_worker() tells which), as with the original's
// cluster.isMaster.
//
//   library_service ['{"workerCount": 2, "port": 11987, ...}']   options as a JSON object
//
// The master adds a custom command (`greet [name]`), overrides the built-in `health`, follows
// the workerStart/workerExit events, raises an event of its own, and makes `workers` local-only.
// Each worker serves HTTP on the shared socket (default 8080): `/` says hello, `/workers` asks
// the master for its `workers` command over the worker channel and returns the answer.

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cservice/service.hpp>
#include <cstdio>
#include <string>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// --- the worker: the program's original job --------------------------------------------------

struct Worker {
  explicit Worker(asio::io_context& io) : acceptor(io) {}
  tcp::acceptor acceptor;
  bool draining = false;
};

std::string answer_for(const std::string& target) {
  if (target == "/workers") {
    // Asks the master over the worker channel and waits (a millisecond or so). A busy server
    // would make such calls from a thread of its own rather than from its loop.
    const cservice::Answer answer = cservice::call("workers");
    return answer.ok() ? answer.result.dump() + "\n" : "error: " + answer.error + "\n";
  }
  return "hello from worker " + std::to_string(cservice::worker_id()) + " pid " +
         std::to_string(::getpid()) + "\n";
}

asio::awaitable<void> serve_connection(Worker& worker, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> request;
    stream.expires_after(std::chrono::seconds(worker.draining ? 1 : 60));
    auto [read_error, read] = co_await http::async_read(stream, buffer, request, use_tuple);
    if (read_error) break;
    http::response<http::string_body> response(http::status::ok, request.version());
    response.set(http::field::content_type, "text/plain");
    response.body() = answer_for(std::string(request.target()));
    // While draining, each connection gets one more answer, with "Connection: close".
    response.keep_alive(request.keep_alive() && !worker.draining);
    response.prepare_payload();
    stream.expires_after(std::chrono::seconds(30));
    auto [write_error, written] = co_await http::async_write(stream, response, use_tuple);
    if (write_error || !response.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(Worker& worker) {
  for (;;) {
    auto [error, socket] = co_await worker.acceptor.async_accept(use_tuple);
    if (error) {
      if (!worker.acceptor.is_open()) co_return;
      continue;
    }
    asio::co_spawn(worker.acceptor.get_executor(), serve_connection(worker, std::move(socket)),
                   asio::detached);
  }
}

int run_worker() {
  cservice::worker_ready(false);  // not ready until the socket is set up
  asio::io_context io;
  Worker worker(io);
  const int fd = cservice::listen_fd();
  if (fd < 0) {
    std::fprintf(stderr, "no listening socket: give the master a \"listen\" option\n");
    return 1;
  }
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  worker.acceptor.assign(address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd);
  // The graceful drain: stop accepting (the master's copy of the socket keeps queuing for the
  // other workers), let the connections finish; the loop ends when the last one has.
  cservice::on_stop([&io, &worker] {
    asio::post(io, [&worker] {
      worker.draining = true;
      beast::error_code ignored;
      worker.acceptor.close(ignored);
    });
  });
  asio::co_spawn(io, accept_loop(worker), asio::detached);
  cservice::worker_ready();
  io.run();
  return 0;
}

// --- the master: the service around it -------------------------------------------------------

int run_master(int argc, char** argv) {
  static std::atomic<int> starts{0};
  static std::atomic<int> exits{0};

  cservice::on("greet",
               [](const cservice::Args& args, cservice::Reply reply) {
                 const std::string name =
                     !args.empty() && args[0].is_string() ? args[0].get<std::string>() : "world";
                 cservice::trigger("greeted", nullptr, name);  // an event of our own
                 reply.ok({{"greeting", "hello, " + name}, {"master", ::getpid()}});
               },
               {"greet [name]", "Says hello from the master.", "remote"});

  // Overrides the built-in health with the application's own view.
  cservice::on("health", [](const cservice::Args&, cservice::Reply reply) {
    reply.ok({{"status", "ok"}, {"workerStarts", starts.load()}, {"workerExits", exits.load()}});
  });

  cservice::on("workerStart", [](const cservice::Event&) { ++starts; });
  cservice::on("workerExit", [](const cservice::Event&) { ++exits; });
  cservice::on("greeted", [](const cservice::Event& event) {
    std::printf("library_service: greeted %s\n", event.data.dump().c_str());
    std::fflush(stdout);
  });

  // The list of workers is for this machine only.
  cservice::control({{"workers", "local"}});

  nlohmann::json options = {
      {"accessKey", "library-example"}, {"workerCount", 2}, {"listen", "8080"}};
  if (argc > 1) {
    const auto given = nlohmann::json::parse(argv[1], nullptr, /*allow_exceptions=*/false);
    if (!given.is_object()) {
      std::fprintf(stderr, "library_service: the argument must be a JSON object of options\n");
      return 2;
    }
    options.update(given);
  }
  return cservice::start(options);
}

}  // namespace

int main(int argc, char** argv) {
  return cservice::is_worker() ? run_worker() : run_master(argc, argv);
}
