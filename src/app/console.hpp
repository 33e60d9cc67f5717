#pragma once
// The console: with a terminal on stdin, each line typed into a serving master is a command run
// at level inproc (the master's own console needs no key), answered on stdout like the CLI.
// Reads on the master's loop, so a slow typist costs nothing.

#include "control/control_plane.hpp"
#include "control/http_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <string>

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

// Prints a command's outcome as the CLI does: the result as indented JSON on stdout, or the
// error on stderr. Returns true on success.
bool print_outcome(unsigned status, const std::string& body_or_error, bool raw_json);

// Attached console: another service owns the control port, so each line of stdin is sent to it
// over REST, HTTPS with `tls` (the seed's piping). Returns the exit status when stdin ends.
int attached_console(const std::string& host, std::uint16_t port, const std::string& key,
                     const std::optional<controlplane::ClientTls>& tls);

}  // namespace cservice::app
