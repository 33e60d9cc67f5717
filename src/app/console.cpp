#include "app/console.hpp"

#include "base/json.hpp"
#include "base/log.hpp"
#include "commands/answer.hpp"
#include "control/command_line.hpp"
#include "control/http_client.hpp"

#include <boost/asio/read_until.hpp>

#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <iostream>
#include <unistd.h>

namespace cservice::app {
namespace {

constexpr const char* kPrompt = "cservice> ";

commands::ColorChoice color_choice = commands::ColorChoice::Auto;

// The table for `command_line`'s answer, when stdout is a terminal and the command has one.
std::optional<std::string> table_for(const Answer& answer, std::string_view command_line) {
  if (command_line.empty() || ::isatty(STDOUT_FILENO) != 1) return std::nullopt;
  const auto parsed = controlplane::parse_command_line(std::string(command_line));
  if (!parsed) return std::nullopt;
  const commands::Colors colors = commands::colors_for(color_choice, true, std::getenv("NO_COLOR"),
                                                       std::getenv("TERM"));
  return commands::answer_table(parsed->name, answer.result, colors);
}

std::string json_line(const nlohmann::json& value, int indent = -1) {
  // The result may hold text that is not UTF-8 (a string result of an original master).
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

void show_prompt() {
  std::fputs(kPrompt, stdout);
  std::fflush(stdout);
}

bool is_blank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

// Whether `line` runs the command `exit`, however its name is written (`exit`, `"exit" "now"`,
// `'exit' now`): the name the service would read. A line that does not parse is sent, and
// refused there.
bool is_exit(const std::string& line) {
  const auto parsed = controlplane::parse_command_line(line);
  return parsed && parsed->name == "exit";
}

}  // namespace

Answer answer_from_http(unsigned status, const std::string& body) {
  Answer answer;
  answer.status = static_cast<int>(status);
  if (status >= 200 && status < 300) {
    if (body == "No data") return answer;  // the original's answer for a command without result
    auto parsed = parse_json(body);
    answer.result = parsed.is_discarded() ? nlohmann::json(body) : std::move(parsed);
    return answer;
  }
  std::string error = body;
  // An original master answers some failures with a JSON object ({"error": ...}).
  if (const auto parsed = parse_json(body);
      parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()) {
    error = parsed["error"].get<std::string>();
  }
  return commands::failure(static_cast<int>(status), std::move(error));
}

void choose_colors(commands::ColorChoice choice) { color_choice = choice; }

bool print_answer(const Answer& answer, AnswerFormat format, std::string_view command_line) {
  if (!answer.ok()) {
    const Answer failed = commands::failure(answer.status, answer.error);
    if (format == AnswerFormat::Json) {
      std::puts(json_line(commands::to_json(failed)).c_str());
      std::fflush(stdout);
    }
    std::fprintf(stderr, "error: %s (%d)\n", failed.error.c_str(), failed.status);
    return false;
  }
  if (format == AnswerFormat::Json) {
    std::puts(json_line(answer.result).c_str());
  } else if (const auto table = table_for(answer, command_line)) {
    std::fputs(table->c_str(), stdout);
  } else if (answer.result.is_string()) {
    std::puts(answer.result.get_ref<const std::string&>().c_str());
  } else {
    std::puts(json_line(answer.result, 2).c_str());
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
  show_prompt();  // the console exists only with a terminal on stdin (serve.cpp)
  read_line();
}

void Console::read_line() {
  boost::asio::async_read_until(
      input_, boost::asio::dynamic_buffer(buffer_), '\n',
      [this](const boost::system::error_code& ec, std::size_t n) {
        if (ec) return;  // end of input: the service goes on without a console
        std::string line = buffer_.substr(0, n - 1);
        buffer_.erase(0, n);
        if (is_blank(line)) {
          show_prompt();
        } else {
          control_plane_.run(
              line, {}, {commands::TrustLevel::Inproc, "console"},
              [line](const controlplane::Outcome& outcome) {
                print_answer(outcome, AnswerFormat::Readable, line);
                show_prompt();
              });
        }
        read_line();
      });
}

int attached_console(const std::string& host, std::uint16_t port, const std::string& key,
                     const std::optional<controlplane::ClientTls>& tls) {
  log::info("a service already owns the control port {}:{}; this is a console for it "
            "(exit or end of input leaves)", host, port);
  // Scripts that pipe commands in get the answers alone.
  const bool prompt = ::isatty(STDIN_FILENO) == 1;
  if (prompt) show_prompt();
  bool all_ok = true;
  for (std::string line; std::getline(std::cin, line);) {
    if (is_blank(line)) {
      if (prompt) show_prompt();
      continue;
    }
    // In the original too, `exit` in an attached console leaves the console, not the service
    // (whose `exit now` would stop it at once).
    if (is_exit(line)) {
      log::info("leaving the console; the service keeps running (shutdown all stops it)");
      return 0;
    }
    auto answer =
        controlplane::send_command(host, port, key, line, std::chrono::minutes(10), tls);
    if (!answer) {
      log::error("{}", answer.error().message);
      return 1;
    }
    all_ok = print_answer(answer_from_http(answer->status, answer->body), AnswerFormat::Readable,
                          line) &&
             all_ok;
    if (prompt) show_prompt();
  }
  if (prompt) std::fputs("\n", stdout);  // end of input typed at the prompt
  return all_ok ? 0 : 1;
}

}  // namespace cservice::app
