#pragma once
// HttpServer: the control plane's HTTP/1.1 listener (Boost.Beast, kept inside this .cpp), on
// the master's loop. Each connection is a coroutine. Every wait has a bound and every request a
// size limit, so a slow, huge or malformed request costs the loop nothing: it gets a 400, 413
// or 503 answer, or (too slow) its connection is closed. The handler answers each request once, possibly much later.

#include "base/error.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace cservice::controlplane {

struct HttpRequest {
  std::string method;         // "POST"
  std::string target;         // "/cli?cmd=workers&accessKey=..."
  std::string authorization;  // the Authorization header, if any
  std::string body;
  boost::asio::ip::address peer;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct HttpLimits {
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds read_timeout{10'000};   // for the whole request, once it began
  std::chrono::milliseconds idle_timeout{30'000};   // between requests on a connection
  std::chrono::milliseconds write_timeout{10'000};
  std::size_t max_connections = 64;
};

class HttpServer {
 public:
  using Respond = std::function<void(HttpResponse)>;
  using Handler = std::function<void(HttpRequest request, Respond respond)>;

  // Binds host:port (port 0: any) and starts accepting.
  static Result<std::unique_ptr<HttpServer>> open(boost::asio::io_context& io,
                                                  const std::string& host, std::uint16_t port,
                                                  HttpLimits limits, Handler handler);
  ~HttpServer();

  std::uint16_t port() const;
  std::string address() const;  // "127.0.0.1:11987"

 private:
  struct Impl;
  explicit HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace cservice::controlplane
