// Fuzzes the control plane's HTTP request handling: the input is what a client sends on one
// connection. As HttpServer does (control/http_server.cpp), each request is read by a Beast
// request parser with the server's header and body limits, turned into an HttpRequest and handed
// to ControlPlane::on_http, which parses the target, takes the key, masks it for the log and
// runs the command; then the next request on the connection, while the client keeps it alive.
// Checks: every request gets exactly one answer, at once (the commands are synchronous), never
// a 500; the target as logged holds no access key.

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "control/control_plane.hpp"
#include "control/http_server.hpp"
#include "control_fixture.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using cservice::controlplane::HttpLimits;
using cservice::controlplane::HttpRequest;
using cservice::controlplane::HttpResponse;

// A connection's bytes as a SyncReadStream: everything the client sent, then end of stream.
class InputStream {
 public:
  explicit InputStream(std::string_view data) : data_(data) {}

  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    if (data_.empty()) {
      ec = asio::error::eof;
      return 0;
    }
    ec = {};
    const std::size_t n = asio::buffer_copy(buffers, asio::buffer(data_.data(), data_.size()));
    data_.remove_prefix(n);
    return n;
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers) {
    beast::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  std::string_view data_;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "http_fuzzer: %s\n", what.c_str());
  std::abort();
}

// Every accessKey parameter of the target as logged must read "***".
void check_masked(std::string_view target) {
  const std::string logged = cservice::controlplane::mask_key(target);
  const auto parsed = boost::urls::parse_origin_form(logged);
  if (!parsed) return;  // "(unparsable target)"
  for (const auto& param : parsed->params()) {
    if (param.key == "accessKey" && param.value != "***") die("key logged: " + logged);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& plane = cservice::fuzz::ControlFixture::get().plane();
  static const auto local_peer = asio::ip::make_address("127.0.0.1");
  static const auto remote_peer = asio::ip::make_address("192.0.2.7");
  const HttpLimits limits;
  InputStream stream(std::string_view(reinterpret_cast<const char*>(data), size));
  beast::flat_buffer buffer(limits.max_header_bytes + limits.max_body_bytes);
  for (int index = 0;; ++index) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    beast::error_code ec;
    http::read(stream, buffer, parser, ec);
    if (ec) break;  // the server answers 400 or 413, or just closes
    auto request = parser.release();

    HttpRequest incoming;
    incoming.method = std::string(request.method_string());
    incoming.target = std::string(request.target());
    incoming.authorization = std::string(request[http::field::authorization]);
    incoming.body = std::move(request.body());
    // Alternately a local and a remote peer, so both trust levels are fuzzed.
    incoming.peer = index % 2 == 0 ? local_peer : remote_peer;
    check_masked(incoming.target);

    int answers = 0;
    plane.on_http(std::move(incoming), [&](HttpResponse response) {
      ++answers;
      if (response.status == 500) die("500: " + response.body);
    });
    if (answers != 1) die("answers: " + std::to_string(answers));
    if (!request.keep_alive()) break;
  }
  return 0;
}
