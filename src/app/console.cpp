#include "app/console.hpp"

#include "base/json.hpp"
#include "base/log.hpp"
#include "control/http_client.hpp"

#include <boost/asio/read_until.hpp>

#include <cstdio>
#include <fcntl.h>
#include <iostream>
#include <unistd.h>

namespace cservice::app {

bool print_outcome(unsigned status, const std::string& body_or_error, bool raw_json) {
  if (status != 200) {
    std::string text = body_or_error;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    std::fprintf(stderr, "error: %s (%u)\n", text.c_str(), status);
    return false;
  }
  if (raw_json) {
    std::fputs(body_or_error.c_str(), stdout);
  } else {
    const auto parsed = parse_json(body_or_error);
    std::puts(parsed.is_discarded() ? body_or_error.c_str() : parsed.dump(2).c_str());
  }
  std::fflush(stdout);
  return true;
}

Console::Console(boost::asio::io_context& io, controlplane::ControlPlane& control_plane)
    : input_(io, ::dup(STDIN_FILENO)), control_plane_(control_plane) {}

Console::~Console() {
  // The descriptor shares its open file (and O_NONBLOCK) with the terminal's other users.
  const int flags = ::fcntl(STDIN_FILENO, F_GETFL);
  if (flags >= 0) ::fcntl(STDIN_FILENO, F_SETFL, flags & ~O_NONBLOCK);
}

void Console::start() {
  log::info("console: type a command (help lists them); it runs with inproc access");
  read_line();
}

void Console::read_line() {
  boost::asio::async_read_until(
      input_, boost::asio::dynamic_buffer(buffer_), '\n',
      [this](const boost::system::error_code& ec, std::size_t n) {
        if (ec) return;  // end of input: the service goes on without a console
        std::string line = buffer_.substr(0, n - 1);
        buffer_.erase(0, n);
        if (line.find_first_not_of(" \t\r") != std::string::npos) {
          control_plane_.run(line, {}, {commands::TrustLevel::Inproc, "console"},
                             [](const controlplane::Outcome& outcome) {
                               print_outcome(outcome.status,
                                             outcome.status == 200
                                                 ? outcome.result.dump(
                                                       -1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace)
                                                 : outcome.error,
                                             false);
                             });
        }
        read_line();
      });
}

int attached_console(const std::string& host, std::uint16_t port, const std::string& key,
                     const std::optional<controlplane::ClientTls>& tls) {
  log::info("a service already owns the control port {}:{}; this is a console for it "
            "(end of input leaves)", host, port);
  bool all_ok = true;
  for (std::string line; std::getline(std::cin, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto answer =
        controlplane::send_command(host, port, key, line, std::chrono::minutes(10), tls);
    if (!answer) {
      log::error("{}", answer.error().message);
      return 1;
    }
    all_ok = print_outcome(answer->status, answer->body, false) && all_ok;
  }
  return all_ok ? 0 : 1;
}

}  // namespace cservice::app
