// original_master: a stand-in for the original (Node.js) cluster-service master's REST API, as
// its lib/http-server.js answers, for testing that our CLI drives one.
//
//   original_master KEY
//
// Listens on a free loopback port, prints "original master: listening on 127.0.0.1:PORT", and
// serves one connection at a time until killed. For each request it prints one line,
// "request METHOD KEY-IN-QUERY KEY-IN-HEADER COMMAND" ("query=yes header=no" and the like; never
// the key), then answers as the original does:
//   a path other than /cli?...            404 "Page Not Found"
//   a method other than POST              405 "Method Not Allowed"
//   accessKey in the query is not KEY     401 "Not authorized" (the header is not read)
//   the command (cmd, then the body):
//     version                             200 "1.2.3" (a string result, as JSON)
//     workers                             200 {"workers":[{"pid":4242,"state":"ready"}]}
//     quiet                               200 "No data" (a command without a result)
//     fail                                400 "something broke" (a command's error)
//     anything else                       404 "Not found. Try /help"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <cstdio>
#include <string>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

struct Reply {
  unsigned status;
  std::string body;
  std::string type = "text/plain";
};

Reply answer(const http::request<http::string_body>& request, const std::string& key) {
  const std::string target(request.target());
  const bool has_header = request.find(http::field::authorization) != request.end();
  if (target.rfind("/cli?", 0) != 0) return {404, "Page Not Found"};
  if (request.method() != http::verb::post) return {405, "Method Not Allowed"};
  auto url = boost::urls::parse_origin_form(target);
  std::string presented;
  std::string question;
  if (url) {
    for (const auto& param : url->params()) {
      if (param.key == "accessKey" && presented.empty()) presented = param.value;
      if (param.key == "cmd" && question.empty()) question = param.value;
    }
  }
  question += request.body();  // the original appends the body to cmd
  const std::string command = question.substr(0, question.find(' '));
  std::printf("request %s query=%s header=%s %s\n", std::string(request.method_string()).c_str(),
              presented.empty() ? "no" : "yes", has_header ? "yes" : "no", command.c_str());
  std::fflush(stdout);
  if (presented.empty() || presented != key) return {401, "Not authorized"};
  if (command == "version") return {200, "\"1.2.3\"", "text/json; charset=UTF-8"};
  if (command == "workers") {
    return {200, R"({"workers":[{"pid":4242,"state":"ready"}]})", "text/json; charset=UTF-8"};
  }
  if (command == "quiet") return {200, "No data"};
  if (command == "fail") return {400, "something broke"};
  return {404, "Not found. Try /help"};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: original_master KEY\n");
    return 2;
  }
  const std::string key = argv[1];
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::printf("original master: listening on 127.0.0.1:%u\n",
              static_cast<unsigned>(acceptor.local_endpoint().port()));
  std::fflush(stdout);
  for (;;) {
    tcp::socket socket(io);
    beast::error_code ec;
    acceptor.accept(socket, ec);
    if (ec) return 1;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(socket, buffer, request, ec);
    if (ec) continue;
    const Reply reply = answer(request, key);
    http::response<http::string_body> response(static_cast<http::status>(reply.status), 11);
    response.set(http::field::content_type, reply.type);
    response.body() = reply.body;
    response.keep_alive(false);
    response.prepare_payload();
    http::write(socket, response, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }
}
