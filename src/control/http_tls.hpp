#pragma once
// TLS for the control plane's HTTP, both ends: the only code that includes OpenSSL (through
// Asio's ssl), built with the CMake option CSERVICE_TLS (http_tls.cpp); without it,
// http_tls_none.cpp stands in and each function fails saying so. Internal to control/.

#include "base/error.hpp"
#include "control/http_client.hpp"
#include "control/http_client_parts.hpp"
#include "control/http_server.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>

namespace cservice::controlplane::detail {

struct ServerCore;

// The server's TLS context: its key and certificate, loaded and checked against each other.
class TlsServer;
Result<std::shared_ptr<TlsServer>> load_tls_server(const TlsFiles& files);

// Serves one accepted connection over TLS: the handshake (head_timeout at most), then the
// requests (http_session.hpp), then the TLS shutdown. A client that speaks plain HTTP instead
// gets a plain-text 400 that says to use https.
boost::asio::awaitable<void> serve_tls(ServerCore& core, TlsServer& tls,
                                       boost::asio::ip::tcp::socket socket);

// One exchange of send_command() over HTTPS, the key at `place`.
Result<ClientAnswer> send_command_tls(const std::string& host, std::uint16_t port,
                                      const std::string& key, const std::string& line,
                                      std::chrono::milliseconds timeout, const ClientTls& tls,
                                      KeyPlace place);

// follow_events() over HTTPS.
Result<void> follow_events_tls(const std::string& host, std::uint16_t port, const std::string& key,
                               const std::optional<std::string>& last_id,
                               const EventCallback& on_event,
                               std::chrono::milliseconds idle_timeout, const ClientTls& tls);

}  // namespace cservice::controlplane::detail
