#include "control/http_tls.hpp"

#include "base/log.hpp"
#include "control/event_follower.hpp"
#include "control/http_client_parts.hpp"
#include "control/http_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <unistd.h>

namespace cservice::controlplane::detail {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

class TlsServer {
 public:
  ssl::context context{ssl::context::tls_server};
};

namespace {

// OpenSSL's reason for an error ("no start line", "certificate verify failed"), else the
// error's own message.
std::string reason(const boost::system::error_code& error) {
  if (error.category() == asio::error::get_ssl_category()) {
    const char* text = ::ERR_reason_error_string(static_cast<unsigned long>(error.value()));
    if (text != nullptr) return text;
  }
  return error.message();
}

Result<void> readable(std::string_view what, const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0) return os_error(fmt::format("{} {}", what, path), errno);
  return {};
}

// TLS 1.2 at least, no compression.
void harden(ssl::context& context) {
  ::SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                      ssl::context::single_dh_use);
}

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// The client's trust: `tls.ca_file`, or the system's store.
Result<void> configure_client(ssl::context& context, const ClientTls& tls) {
  harden(context);
  boost::system::error_code ec;
  if (tls.ca_file.empty()) {
    context.set_default_verify_paths(ec);
    if (ec) return make_error(errc::bad_config, "ca: the system's store: " + reason(ec));
  } else {
    if (auto ok = readable("ca", tls.ca_file); !ok) return ok.error();
    context.load_verify_file(tls.ca_file, ec);
    if (ec) {
      return make_error(errc::bad_config,
                        fmt::format("ca {}: not PEM certificates: {}", tls.ca_file, reason(ec)));
    }
    // Every certificate of the file is trusted as it is: the service's own self-signed
    // certificate, or an intermediate, needs no root beside it.
    ::X509_VERIFY_PARAM_set_flags(::SSL_CTX_get0_param(context.native_handle()),
                                  X509_V_FLAG_PARTIAL_CHAIN);
  }
  context.set_verify_mode(ssl::verify_peer);
  return {};
}

// The name the server's certificate must carry: `host`.
void name_peer(beast::ssl_stream<beast::tcp_stream>& stream, const std::string& host) {
  // OpenSSL checks the name itself, so a mismatch reads as one ("hostname mismatch").
  if (is_ip_address(host)) {
    ::X509_VERIFY_PARAM_set1_ip_asc(::SSL_get0_param(stream.native_handle()), host.c_str());
  } else {
    ::SSL_set1_host(stream.native_handle(), host.c_str());
    // SNI: SSL_set_tlsext_host_name() without its macro's old-style cast.
    ::SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(host.c_str()));
  }
}

// Why a handshake with `where` failed, if it was the handshake: an untrusted certificate, or no
// TLS at all.
std::optional<Error> handshake_failure(beast::ssl_stream<beast::tcp_stream>& stream,
                                       const std::string& where,
                                       const boost::system::error_code& failure) {
  const long verify = ::SSL_get_verify_result(stream.native_handle());
  if (verify != X509_V_OK) {
    return make_error(errc::bad_request,
                      fmt::format("control {}: the service's certificate is not trusted: {} (give "
                                  "the CA that signed it with --ca FILE)",
                                  where, ::X509_verify_cert_error_string(verify)));
  }
  if (failure != beast::error::timeout) {
    return make_error(errc::bad_request,
                      fmt::format("control {}: TLS handshake failed: {} (does the service speak "
                                  "HTTPS?)",
                                  where, reason(failure)));
  }
  return std::nullopt;
}

// Resolves `host`, connects (within the deadline already set on the transport) and shakes
// hands. `in_handshake` stays true if the handshake itself failed (handshake_failure() tells
// why).
asio::awaitable<boost::system::error_code> connect_tls(asio::io_context& io,
                                                       beast::ssl_stream<beast::tcp_stream>& stream,
                                                       const std::string& host,
                                                       std::uint16_t port, bool& in_handshake) {
  tcp::resolver resolver(io);
  auto [resolve_error, results] =
      co_await resolver.async_resolve(host, std::to_string(port), use_tuple);
  if (resolve_error) co_return resolve_error;
  auto [connect_error, endpoint] =
      co_await beast::get_lowest_layer(stream).async_connect(results, use_tuple);
  if (connect_error) co_return connect_error;
  in_handshake = true;
  auto [handshake_error] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
  if (!handshake_error) in_handshake = false;
  co_return handshake_error;
}

}  // namespace

Result<std::shared_ptr<TlsServer>> load_tls_server(const TlsFiles& files) {
  if (auto ok = readable("ssl cert", files.cert_file); !ok) return ok.error();
  if (auto ok = readable("ssl key", files.key_file); !ok) return ok.error();
  auto server = std::make_shared<TlsServer>();
  harden(server->context);
  boost::system::error_code ec;
  server->context.use_certificate_chain_file(files.cert_file, ec);
  if (ec) {
    return make_error(errc::bad_config,
                      fmt::format("ssl cert {}: not a usable PEM certificate: {}", files.cert_file,
                                  reason(ec)));
  }
  // OpenSSL checks the key against the certificate as it loads it ("key values mismatch").
  server->context.use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec) {
    return make_error(errc::bad_config,
                      fmt::format("ssl key {}: not the PEM private key of ssl cert {}: {}",
                                  files.key_file, files.cert_file, reason(ec)));
  }
  return server;
}

asio::awaitable<void> serve_tls(ServerCore& core, TlsServer& tls, tcp::socket socket) {
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls.context);
  auto& transport = beast::get_lowest_layer(stream);
  LiveConnection connection;
  boost::system::error_code peer_error;
  connection.peer = transport.socket().remote_endpoint(peer_error).address();
  connection.socket = &transport.socket();
  const LiveConnection::Registration registration(core.connections, connection);

  // The handshake gets a head's deadline, and the same place among unauthenticated connections.
  transport.expires_after(core.limits.head_timeout);
  beast::flat_buffer buffer;
  auto [detect_error, is_tls] = co_await beast::async_detect_ssl(transport, buffer, use_tuple);
  if (detect_error || connection.closed) co_return;
  if (!is_tls) {
    // A plain HTTP client learns why it gets nothing more.
    co_await write_answer(transport, connection, core.limits,
                          error_response(400, "this service speaks HTTPS: use an https URL"), 11,
                          false);
    beast::error_code ignored;
    transport.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return;
  }
  auto [handshake_error, used] =
      co_await stream.async_handshake(ssl::stream_base::server, buffer.data(), use_tuple);
  if (handshake_error) {
    if (!connection.closed) {
      log::info("control: {}: TLS handshake: {}", connection.peer.to_string(),
                reason(handshake_error));
    }
    co_return;
  }
  buffer.consume(used);
  co_await serve_requests(stream, core, connection);
  if (connection.closed) co_return;
  transport.expires_after(core.limits.head_timeout);
  co_await stream.async_shutdown(use_tuple);
}

Result<ClientAnswer> send_command_tls(const std::string& host, std::uint16_t port,
                                      const std::string& key, const std::string& line,
                                      std::chrono::milliseconds timeout, const ClientTls& tls,
                                      KeyPlace place) {
  const std::string where = fmt::format("{}:{}", host, port);
  ssl::context context(ssl::context::tls_client);
  if (auto ok = configure_client(context, tls); !ok) return ok.error();
  asio::io_context io;
  beast::ssl_stream<beast::tcp_stream> stream(io, context);
  name_peer(stream, host);
  auto request = cli_request(host, key, line, place);
  http::response<http::string_body> response;
  boost::system::error_code failure;
  bool in_handshake = false;

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        beast::get_lowest_layer(stream).expires_after(timeout);
        failure = co_await connect_tls(io, stream, host, port, in_handshake);
        if (failure) co_return;
        auto [write_error, written] = co_await http::async_write(stream, request, use_tuple);
        failure = write_error;
        if (failure) co_return;
        beast::flat_buffer buffer;
        auto [read_error, read] = co_await http::async_read(stream, buffer, response, use_tuple);
        failure = read_error;
      },
      asio::detached);
  io.run();

  if (failure && in_handshake) {
    if (auto why = handshake_failure(stream, where, failure)) return *why;
  }
  if (failure) return client_failure(where, failure);
  return ClientAnswer{response.result_int(), response.body()};
}

Result<void> follow_events_tls(const std::string& host, std::uint16_t port, const std::string& key,
                               const std::optional<std::string>& last_id,
                               const EventCallback& on_event,
                               std::chrono::milliseconds idle_timeout, const ClientTls& tls) {
  const std::string where = fmt::format("{}:{}", host, port);
  ssl::context context(ssl::context::tls_client);
  if (auto ok = configure_client(context, tls); !ok) return ok.error();
  asio::io_context io;
  beast::ssl_stream<beast::tcp_stream> stream(io, context);
  name_peer(stream, host);
  FollowEnd end;
  bool in_handshake = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        beast::get_lowest_layer(stream).expires_after(idle_timeout);
        end.error = co_await connect_tls(io, stream, host, port, in_handshake);
        if (end.error) co_return;
        const auto request = events_request(host, key, last_id);
        auto [write_error, written] = co_await http::async_write(stream, request, use_tuple);
        end.error = write_error;
        if (end.error) co_return;
        end = co_await read_events(stream, idle_timeout, on_event);
      },
      asio::detached);
  io.run();
  if (end.error && in_handshake) {
    if (auto why = handshake_failure(stream, where, end.error)) return *why;
  }
  // The stream's end is its last chunk; a TLS close_notify after it is not waited for.
  return follow_end(where, end);
}

}  // namespace cservice::controlplane::detail
