#pragma once
// A minimal HTTP/1.1 client for tests (Boost.Beast), with a hard time-out.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace cservice::testing {

struct HttpAnswer {
  int status = 0;
  std::string body;
  bool keep_alive = false;  // the server will keep the connection open
};

// `method` http://host:port/target on a new connection, with an Authorization header if
// `authorization` is not empty. nullopt on any error or after `timeout`.
std::optional<HttpAnswer> http_request(const std::string& method, const std::string& host, int port,
                                       const std::string& target,
                                       const std::string& authorization = {},
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

// `text` percent-encoded for a query string.
std::string url_encode(const std::string& text);

// POST /cli?cmd=<line> to the REST API on 127.0.0.1:port with `key` as a Bearer token. A failed
// request is {0, "no answer"}.
HttpAnswer run_command(int port, const std::string& key, const std::string& line,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

// GET http://host:port/target on a new connection. nullopt on any error or after `timeout`.
std::optional<HttpAnswer> http_get(const std::string& host, int port, const std::string& target = "/",
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

// One keep-alive connection, for requests one after another on the same socket.
class KeepAliveConnection {
 public:
  KeepAliveConnection();
  ~KeepAliveConnection();
  bool connect(const std::string& host, int port,
               std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // GET on this connection. nullopt on any error (the server closed it) or after `timeout`.
  std::optional<HttpAnswer> get(const std::string& target = "/",
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True once the server has closed the connection (waits up to `timeout` for that).
  bool closed_by_server(std::chrono::milliseconds timeout);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cservice::testing
