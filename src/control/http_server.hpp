#pragma once
// HttpServer: the control plane's HTTP/1.1 listener (Boost.Beast, kept inside control/*.cpp),
// over plain TCP or TLS, on the master's loop. Each connection is a coroutine.
//
// Availability: every stage of a connection has a deadline, and every request a size limit, so
// a slow, huge or malformed request costs the loop nothing. A connection is authenticated by its
// request head alone (`authenticate`) before it uses anything scarce: until then it has
// head_timeout to send that head and a place among a bounded number of unauthenticated
// connections (the oldest is closed to make room, see admission.hpp); a request that is not
// authenticated is answered (by the handler, at once) and its connection closed. An
// authenticated request gets a slot, or waits for one in a bounded queue; it is refused (503)
// only when the queue is full or its wait expires.
//
// Answers: the handler answers each request once, possibly much later, through its Respond
// callback. No request goes unanswered: a handler that throws, or that drops the callback
// unanswered, gets the caller a 500 and the connection closed; one that keeps it past
// answer_timeout, a 504. A streamed answer (HttpResponse::stream) gives its slot back once its
// head is written: followers are counted apart, max_streams at most.

#include "base/error.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace cservice::controlplane {

struct HttpRequest {
  std::string method;         // "POST"
  std::string target;         // "/cli?cmd=workers&accessKey=..."
  std::string authorization;  // the Authorization header, if any
  std::string body;           // empty for a request that is not authenticated (never read)
  boost::asio::ip::address peer;
  std::string last_event_id{};  // the Last-Event-ID header (an event stream's resume point)
};

class HttpStream;

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  // A streamed answer (http_stream.hpp): the head, then the stream's chunks until it ends or
  // the client hangs up; `body` is not sent. The connection holds no slot meanwhile (streams
  // are bounded by max_streams) and closes at the end.
  std::shared_ptr<HttpStream> stream{};
};

struct HttpLimits {
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  // Deadlines. The head of a request: from the connection (after the TLS handshake, which has
  // as long), or from its first byte on a keep-alive connection.
  std::chrono::milliseconds head_timeout{2'000};
  // The body, once the head is in: short too, so that a key holder trickling bodies cannot
  // hold the authenticated slots for long (64 KiB in 2 s needs 256 kbit/s).
  std::chrono::milliseconds read_timeout{2'000};
  std::chrono::milliseconds idle_timeout{30'000};     // keep-alive: until the next request
  std::chrono::milliseconds write_timeout{10'000};    // the answer
  std::chrono::milliseconds queue_timeout{10'000};    // an authenticated request, for a slot
  std::chrono::milliseconds answer_timeout{600'000};  // the handler, for its answer (then 504)
  // Authenticated connections served at once (reading bodies, running handlers, kept alive).
  std::size_t max_connections = 64;
  std::size_t max_queued = 512;  // authenticated requests waiting for a slot (then 503)
  std::size_t max_unauthenticated = 256;          // connections yet without a valid key
  std::size_t max_unauthenticated_per_peer = 64;  // ... from one address
  std::size_t max_streams = 256;  // streamed answers (event followers) at once (then 503)
};

// TLS for the server: PEM files of its private key and of its certificate (chain).
struct TlsFiles {
  std::string key_file;
  std::string cert_file;
};

class HttpServer {
 public:
  using Respond = std::function<void(HttpResponse)>;
  using Handler = std::function<void(HttpRequest request, Respond respond)>;
  // Whether a request head (no body yet) comes from a caller with a valid key. A request
  // refused here is still given to the handler, which must answer it at once (within
  // head_timeout); its connection is closed after the answer.
  using Authenticate = std::function<bool(const HttpRequest& head)>;

  // Binds host:port (port 0: any) and starts accepting. Without `authenticate`, every request
  // is authenticated. With `tls`, it speaks HTTPS only (a plain HTTP request gets a 400 saying
  // so); a key or certificate that cannot be loaded is an error naming the file.
  static Result<std::unique_ptr<HttpServer>> open(boost::asio::io_context& io,
                                                  const std::string& host, std::uint16_t port,
                                                  HttpLimits limits, Handler handler,
                                                  Authenticate authenticate = {},
                                                  const std::optional<TlsFiles>& tls = {});
  ~HttpServer();

  std::uint16_t port() const;
  std::string address() const;  // "127.0.0.1:11987"
  std::string scheme() const;   // "http" or "https"

 private:
  struct Impl;
  explicit HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace cservice::controlplane
