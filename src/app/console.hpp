#pragma once
// The console: with a terminal on stdin, each line typed into a serving master is a command run
// at level inproc (the master's own console needs no key), answered on stdout like the CLI.
// Reads on the master's loop, so a slow typist costs nothing. A "cservice> " prompt is shown at
// the start and after each answer (log lines may come between: it is not redrawn for them).

#include "commands/answer_table.hpp"
#include "control/control_plane.hpp"
#include "control/http_client.hpp"
#include "cservice/command.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <string>
#include <string_view>

namespace cservice::app {

class Console {
 public:
  Console(boost::asio::io_context& io, controlplane::ControlPlane& control_plane);
  ~Console();  // gives the terminal back in blocking mode, as the shell expects it
  void start();

 private:
  void read_line();

  boost::asio::posix::stream_descriptor input_;
  controlplane::ControlPlane& control_plane_;
  std::string buffer_;
};

// The answer in a service's HTTP reply, ours or an original (Node.js) master's: 200 (or 202, an
// operation started) with a JSON body is that result (a string result arrives as "..."); 200 "No data" (an original's command
// that gave no result) is null; other 200 text is that text as a string. Any other status is a
// failure whose error is the body (or the "error" member of a JSON object body), trailing
// newlines removed.
Answer answer_from_http(unsigned status, const std::string& body);

// How the CLI shows an answer.
enum class AnswerFormat {
  // The result on stdout as indented JSON (a string result as its text); a failure on stderr
  // as "error: TEXT (STATUS)". When stdout is a terminal, the results of workers, info and
  // health are tables instead (commands/answer_table.hpp), coloured as choose_colors() says.
  Readable,
  // One line of JSON on stdout whatever the outcome: the result, or {"status": N, "error":
  // "TEXT"}; a failure's readable line still goes to stderr, out of the way of scripts.
  Json,
};

// Prints `answer` in `format`; `command_line` is the line that asked for it (its command's name
// picks the table). Returns true on success (any 2xx status).
bool print_answer(const Answer& answer, AnswerFormat format, std::string_view command_line = {});

// The --color choice for the tables on stdout; main() sets it once, before any mode runs.
void choose_colors(commands::ColorChoice choice);

// The status the CLI gives an answer it never got (connection refused, time-out, TLS refused).
inline constexpr int kNoAnswerStatus = 503;

// Attached console: another service owns the control port, so each line of stdin is sent to it
// over REST, HTTPS with `tls` (the seed's piping), with a prompt when stdin is a terminal.
// `exit` (with any arguments, `exit now` too) leaves this console and is not sent: the service
// keeps running (`shutdown all` stops it). Returns the exit status: 0 after `exit`; at the end
// of stdin, 0 if every command succeeded; 1 if one failed or the service stopped answering.
int attached_console(const std::string& host, std::uint16_t port, const std::string& key,
                     const std::optional<controlplane::ClientTls>& tls);

}  // namespace cservice::app
