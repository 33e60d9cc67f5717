#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace cservice::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::optional<HttpAnswer> http_get(const std::string& host, int port, const std::string& target,
                                   std::chrono::milliseconds timeout) {
  return http_request("GET", host, port, target, {}, timeout);
}

std::optional<HttpAnswer> http_request(const std::string& method, const std::string& host, int port,
                                       const std::string& target, const std::string& authorization,
                                       std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::empty_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, host);
  if (!authorization.empty()) request.set(http::field::authorization, authorization);
  request.keep_alive(false);
  request.prepare_payload();
  http::response<http::string_body> response;
  beast::flat_buffer buffer;
  bool done = false;
  stream.expires_after(timeout);
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(host),
                                         static_cast<unsigned short>(port));
  stream.async_connect(endpoint, [&](beast::error_code ec) {
    if (ec) return;
    http::async_write(stream, request, [&](beast::error_code write_ec, std::size_t) {
      if (write_ec) return;
      http::async_read(stream, buffer, response, [&](beast::error_code read_ec, std::size_t) {
        done = !read_ec;
      });
    });
  });
  io.run();
  if (!done) return std::nullopt;
  return HttpAnswer{static_cast<int>(response.result_int()), response.body(), response.keep_alive()};
}

struct KeepAliveConnection::State {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
};

KeepAliveConnection::KeepAliveConnection() : state_(std::make_unique<State>()) {}
KeepAliveConnection::~KeepAliveConnection() = default;

bool KeepAliveConnection::connect(const std::string& host, int port,
                                  std::chrono::milliseconds timeout) {
  bool done = false;
  state_->stream.expires_after(timeout);
  state_->stream.async_connect(
      asio::ip::tcp::endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port)),
      [&](beast::error_code ec) { done = !ec; });
  state_->io.restart();
  state_->io.run();
  return done;
}

std::optional<HttpAnswer> KeepAliveConnection::get(const std::string& target,
                                                   std::chrono::milliseconds timeout) {
  http::request<http::empty_body> request(http::verb::get, target, 11);
  request.set(http::field::host, "localhost");
  request.keep_alive(true);
  http::response<http::string_body> response;
  bool done = false;
  state_->stream.expires_after(timeout);
  http::async_write(state_->stream, request, [&](beast::error_code write_ec, std::size_t) {
    if (write_ec) return;
    http::async_read(state_->stream, state_->buffer, response,
                     [&](beast::error_code read_ec, std::size_t) { done = !read_ec; });
  });
  state_->io.restart();
  state_->io.run();
  if (!done) return std::nullopt;
  return HttpAnswer{static_cast<int>(response.result_int()), response.body(), response.keep_alive()};
}

bool KeepAliveConnection::closed_by_server(std::chrono::milliseconds timeout) {
  bool closed = false;
  char byte = 0;
  state_->stream.expires_after(timeout);
  state_->stream.async_read_some(asio::buffer(&byte, 1), [&](beast::error_code ec, std::size_t) {
    closed = ec == asio::error::eof || ec == asio::error::connection_reset;
    if (!closed) std::fprintf(stderr, "closed_by_server: %s\n", ec.message().c_str());
  });
  state_->io.restart();
  state_->io.run();
  return closed;
}

std::string url_encode(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

HttpAnswer run_command(int port, const std::string& key, const std::string& line,
                       std::chrono::milliseconds timeout) {
  auto answer = http_request("POST", "127.0.0.1", port, "/cli?cmd=" + url_encode(line),
                             "Bearer " + key, timeout);
  return answer.value_or(HttpAnswer{0, "no answer", false});
}

}  // namespace cservice::testing
