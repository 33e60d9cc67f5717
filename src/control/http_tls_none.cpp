// The stand-in for http_tls.cpp in a build without TLS (CMake option CSERVICE_TLS off): every
// use of TLS is an error that says so.

#include "control/http_tls.hpp"

namespace cservice::controlplane::detail {

class TlsServer {};

namespace {

Error no_tls() {
  return make_error(errc::bad_config,
                    "ssl: this cservice was built without TLS (CMake option CSERVICE_TLS)");
}

}  // namespace

Result<std::shared_ptr<TlsServer>> load_tls_server(const TlsFiles&) { return no_tls(); }

boost::asio::awaitable<void> serve_tls(ServerCore&, TlsServer&, boost::asio::ip::tcp::socket) {
  co_return;  // never reached: no TlsServer can be loaded
}

Result<ClientAnswer> send_command_tls(const std::string&, std::uint16_t, const std::string&,
                                      const std::string&, std::chrono::milliseconds,
                                      const ClientTls&, KeyPlace) {
  return no_tls();
}

Result<void> follow_events_tls(const std::string&, std::uint16_t, const std::string&,
                               const std::optional<std::string>&, const EventCallback&,
                               std::chrono::milliseconds, const ClientTls&) {
  return no_tls();
}

}  // namespace cservice::controlplane::detail
