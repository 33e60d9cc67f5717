#pragma once
// Listening sockets the master binds once and passes to every worker (LISTEN_FDS). They stay
// open across every restart, so the kernel keeps queuing connections while workers come and go.

#include "base/error.hpp"
#include "os/unique_fd.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cservice::os {

// Where to listen, parsed from `PORT`, `HOST:PORT`, `[V6]:PORT`, `unix:PATH`, each optionally
// prefixed by `NAME=` (the name a worker sees in LISTEN_FDNAMES; default "listen").
struct Endpoint {
  enum class Kind { Tcp, Unix };
  Kind kind = Kind::Tcp;
  std::string name = "listen";
  std::string host;        // empty: every address (dual-stack where IPv6 exists)
  std::uint16_t port = 0;  // 0: the kernel picks one (reported after binding)
  std::string path;        // for Kind::Unix
};

Result<Endpoint> parse_endpoint(std::string_view spec);

class ListenSocket {
 public:
  // Binds and listens. A unix socket path left behind by a dead service is replaced; one with
  // a live listener is EADDRINUSE, like a TCP port in use.
  static Result<ListenSocket> open(const Endpoint& endpoint);

  // Takes over a listening socket handed to the master (socket activation), named `name`.
  // An error names the descriptor when it is not a listening (SO_ACCEPTCONN) socket.
  static Result<ListenSocket> adopt(UniqueFd fd, std::string name);

  ListenSocket(ListenSocket&&) noexcept = default;
  ListenSocket& operator=(ListenSocket&&) noexcept = default;
  ~ListenSocket();  // removes the path of a unix socket it bound (not of an adopted one)

  const Endpoint& endpoint() const { return endpoint_; }
  int fd() const { return fd_.get(); }
  // The bound address as text, with the real port: "127.0.0.1:40123", "[::]:8080", "unix:/p".
  const std::string& address() const { return address_; }
  std::uint16_t port() const { return port_; }

 private:
  static Result<ListenSocket> finish_tcp(const Endpoint& endpoint, UniqueFd fd);
  ListenSocket(Endpoint endpoint, UniqueFd fd, std::string address, std::uint16_t port)
      : endpoint_(std::move(endpoint)), fd_(std::move(fd)), address_(std::move(address)),
        port_(port) {}

  Endpoint endpoint_;
  UniqueFd fd_;
  std::string address_;
  std::uint16_t port_;
};

// Socket activation (sd_listen_fds(3)): the sockets a service manager passed the master as
// LISTEN_FDS descriptors from fd 3 on, named by LISTEN_FDNAMES (":"-separated; "listen" when
// absent), when LISTEN_PID names this process. They become ListenSocket objects (close-on-exec,
// passed on to workers like `--listen` ones) and the three variables are removed from the
// environment, so that no program the master starts takes them for its own. Empty when the
// variables are absent or name another process; an error when a descriptor is not a listening
// socket or the variables are malformed.
Result<std::vector<ListenSocket>> inherited_sockets();

}  // namespace cservice::os
