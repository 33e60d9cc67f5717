#include "control/http_client.hpp"

#include "control/http_client_parts.hpp"
#include "control/http_tls.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>
#include <fmt/format.h>

namespace cservice::controlplane {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace detail {

http::request<http::empty_body> cli_request(const std::string& host, const std::string& key,
                                            const std::string& line, KeyPlace place) {
  // Everything but the unreserved characters percent-encoded: a '+' left as it is would be read
  // as a space (by our server, and by the original's querystring).
  const auto encoded = [](std::string_view text) {
    return boost::urls::encode(text, boost::urls::unreserved_chars);
  };
  std::string query = "cmd=" + encoded(line);
  if (!key.empty() && place == KeyPlace::Query) query += "&accessKey=" + encoded(key);
  boost::urls::url target;
  target.set_path("/cli");
  target.set_encoded_query(query);
  http::request<http::empty_body> request(http::verb::post, target.buffer(), 11);
  request.set(http::field::host, host);
  if (!key.empty() && place == KeyPlace::Header) {
    request.set(http::field::authorization, "Bearer " + key);
  }
  request.keep_alive(false);
  request.prepare_payload();
  return request;
}

Error client_failure(const std::string& where, const boost::system::error_code& failure) {
  if (failure == asio::error::connection_refused) {
    return make_error(errc::not_found,
                      fmt::format("no service answers on {} (connection refused)", where));
  }
  if (failure == beast::error::timeout) {
    return make_error(errc::timed_out, fmt::format("control {}: no answer in time", where));
  }
  return make_error(errc::timed_out, fmt::format("control {}: {}", where, failure.message()));
}

}  // namespace detail

namespace {

Result<ClientAnswer> exchange(const std::string& host, std::uint16_t port, const std::string& key,
                              const std::string& line, std::chrono::milliseconds timeout,
                              const std::optional<ClientTls>& tls, detail::KeyPlace place) {
  if (tls) return detail::send_command_tls(host, port, key, line, timeout, *tls, place);
  asio::io_context io;
  beast::tcp_stream stream(io);
  auto request = detail::cli_request(host, key, line, place);
  http::response<http::string_body> response;
  beast::flat_buffer buffer;
  beast::error_code failure;

  asio::ip::tcp::resolver resolver(io);
  stream.expires_after(timeout);
  resolver.async_resolve(host, std::to_string(port), [&](beast::error_code ec, auto results) {
    if (ec) {
      failure = ec;
      return;
    }
    stream.async_connect(results, [&](beast::error_code connect_ec, const auto&) {
      if (connect_ec) {
        failure = connect_ec;
        return;
      }
      http::async_write(stream, request, [&](beast::error_code write_ec, std::size_t) {
        if (write_ec) {
          failure = write_ec;
          return;
        }
        http::async_read(stream, buffer, response,
                         [&](beast::error_code read_ec, std::size_t) { failure = read_ec; });
      });
    });
  });
  io.run();
  if (failure) return detail::client_failure(fmt::format("{}:{}", host, port), failure);
  return ClientAnswer{response.result_int(), response.body()};
}

}  // namespace

Result<ClientAnswer> send_command(const std::string& host, std::uint16_t port,
                                  const std::string& key, const std::string& line,
                                  std::chrono::milliseconds timeout,
                                  const std::optional<ClientTls>& tls) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  auto answer = exchange(host, port, key, line, timeout, tls, detail::KeyPlace::Header);
  // An original (Node.js) master reads the key only from the query and refuses the header with
  // 401 "Not authorized" (its only text for a refused key). A 401 ran nothing, so asking once
  // more is safe; our own services read either and say something else when they refuse, so
  // they are not asked twice (nor is a second refusal audited).
  if (!answer || answer->status != 401 || key.empty() ||
      !answer->body.starts_with("Not authorized")) {
    return answer;
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return answer;
  auto retry = exchange(host, port, key, line, left, tls, detail::KeyPlace::Query);
  return retry ? retry : answer;
}

}  // namespace cservice::controlplane
