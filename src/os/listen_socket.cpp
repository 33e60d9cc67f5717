#include "os/listen_socket.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <optional>

namespace cservice::os {
namespace {

Error bad_endpoint(std::string_view spec, std::string_view why) {
  return make_error(errc::bad_config, fmt::format("bad listen address '{}': {}", spec, why));
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (const char c : name) {
    // LISTEN_FDNAMES is ':'-separated and names are printable ASCII.
    if (c <= ' ' || c > '~' || c == ':' || c == '=') return false;
  }
  return true;
}

std::string format_address(const sockaddr_storage& addr, std::uint16_t* port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    *port = ntohs(in6.sin6_port);
    return fmt::format("[{}]:{}", text, *port);
  }
  const auto& in4 = reinterpret_cast<const sockaddr_in&>(addr);
  ::inet_ntop(AF_INET, &in4.sin_addr, text, sizeof text);
  *port = ntohs(in4.sin_port);
  return fmt::format("{}:{}", text, *port);
}

std::optional<unsigned> parse_number(const char* text) {
  if (text == nullptr) return std::nullopt;
  const std::string_view view(text);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), value);
  if (view.empty() || ec != std::errc() || end != view.data() + view.size()) return std::nullopt;
  return value;
}

std::string describe(const Endpoint& e) {
  if (e.kind == Endpoint::Kind::Unix) return "unix:" + e.path;
  if (e.host.empty()) return fmt::format("*:{}", e.port);
  if (e.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", e.host, e.port);
  return fmt::format("{}:{}", e.host, e.port);
}

Result<UniqueFd> bind_and_listen(const Endpoint& e, const sockaddr* addr, socklen_t len,
                                 bool dual_stack) {
  UniqueFd fd(::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return os_error(fmt::format("listen {}: socket", describe(e)), errno);
  const int one = 1;
  if (addr->sa_family != AF_UNIX) {
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  if (addr->sa_family == AF_INET6) {
    const int v6only = dual_stack ? 0 : 1;
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  if (::bind(fd.get(), addr, len) != 0) return os_error(fmt::format("listen {}", describe(e)), errno);
  if (::listen(fd.get(), SOMAXCONN) != 0) {
    return os_error(fmt::format("listen {}", describe(e)), errno);
  }
  return fd;
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view spec) {
  Endpoint e;
  std::string_view rest = spec;
  if (const auto eq = rest.find('='); eq != std::string_view::npos) {
    e.name = std::string(rest.substr(0, eq));
    rest.remove_prefix(eq + 1);
    if (!valid_name(e.name)) return bad_endpoint(spec, "name must be printable, without ':' or '='");
  }
  if (rest.starts_with("unix:")) {
    e.kind = Endpoint::Kind::Unix;
    e.path = std::string(rest.substr(5));
    if (e.path.empty()) return bad_endpoint(spec, "empty socket path");
    if (e.path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return bad_endpoint(spec, "socket path too long");
    }
    return e;
  }
  std::string_view port_text = rest;
  if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string_view host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
    if (host.starts_with('[')) {
      if (!host.ends_with(']')) return bad_endpoint(spec, "unclosed '['");
      host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
      return bad_endpoint(spec, "write an IPv6 address in brackets, as [::1]:8080");
    }
    if (host.empty()) return bad_endpoint(spec, "empty host");
    e.host = std::string(host);
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return bad_endpoint(spec, "port must be a number from 0 to 65535");
  }
  e.port = static_cast<std::uint16_t>(port);
  return e;
}

ListenSocket::~ListenSocket() {
  if (fd_ && endpoint_.kind == Endpoint::Kind::Unix && !endpoint_.path.empty()) {
    ::unlink(endpoint_.path.c_str());
  }
}

Result<ListenSocket> ListenSocket::open(const Endpoint& e) {
  if (e.kind == Endpoint::Kind::Unix) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, e.path.c_str(), e.path.size() + 1);
    struct stat st {};
    if (::lstat(e.path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        return os_error(fmt::format("listen unix:{}: exists and is not a socket", e.path), EEXIST);
      }
      // A stale socket of a dead service: nobody accepts on it, so it can be replaced.
      UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        return os_error(fmt::format("listen unix:{}", e.path), EADDRINUSE);
      }
      ::unlink(e.path.c_str());
    }
    auto fd = bind_and_listen(e, reinterpret_cast<sockaddr*>(&addr), sizeof addr, false);
    if (!fd) return fd.error();
    return ListenSocket(e, std::move(*fd), "unix:" + e.path, 0);
  }

  if (e.host.empty()) {
    // Every address: one dual-stack IPv6 socket, or IPv4 only where IPv6 is off.
    sockaddr_in6 any6{};
    any6.sin6_family = AF_INET6;
    any6.sin6_addr = in6addr_any;
    any6.sin6_port = htons(e.port);
    auto fd = bind_and_listen(e, reinterpret_cast<sockaddr*>(&any6), sizeof any6, true);
    if (!fd && (fd.error().code.value() == EAFNOSUPPORT ||
                fd.error().code.value() == EADDRNOTAVAIL)) {
      sockaddr_in any4{};
      any4.sin_family = AF_INET;
      any4.sin_addr.s_addr = htonl(INADDR_ANY);
      any4.sin_port = htons(e.port);
      fd = bind_and_listen(e, reinterpret_cast<sockaddr*>(&any4), sizeof any4, false);
    }
    if (!fd) return fd.error();
    return finish_tcp(e, std::move(*fd));
  }

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(e.port);
  if (const int rc = ::getaddrinfo(e.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return make_error(errc::bad_config,
                      fmt::format("listen {}: {}", describe(e), ::gai_strerror(rc)));
  }
  Result<UniqueFd> fd = os_error(fmt::format("listen {}", describe(e)), EADDRNOTAVAIL);
  // "localhost" may name ::1 and 127.0.0.1; prefer IPv4, which every client tries.
  for (const int family : {AF_INET, AF_INET6}) {
    for (addrinfo* ai = found; ai != nullptr && !fd; ai = ai->ai_next) {
      if (ai->ai_family == family) fd = bind_and_listen(e, ai->ai_addr, ai->ai_addrlen, false);
    }
  }
  ::freeaddrinfo(found);
  if (!fd) return fd.error();
  return finish_tcp(e, std::move(*fd));
}

Result<ListenSocket> ListenSocket::finish_tcp(const Endpoint& e, UniqueFd fd) {
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return os_error(fmt::format("listen {}: getsockname", describe(e)), errno);
  }
  std::uint16_t port = 0;
  std::string address = format_address(bound, &port);
  return ListenSocket(e, std::move(fd), std::move(address), port);
}

}  // namespace cservice::os

namespace cservice::os {

Result<ListenSocket> ListenSocket::adopt(UniqueFd fd, std::string name) {
  const std::string what = fmt::format("socket activation: fd {} ({})", fd.get(), name);
  if (::fcntl(fd.get(), F_SETFD, FD_CLOEXEC) != 0) return os_error(what, errno);
  int listening = 0;
  socklen_t len = sizeof listening;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) {
    return os_error(what, errno);  // ENOTSOCK: not a socket at all
  }
  if (listening == 0) {
    return make_error(errc::bad_config,
                      fmt::format("{}: not a listening socket (a stream socket in listen state "
                                  "is needed: ListenStream= in the socket unit)",
                                  what));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) {
    return os_error(what + ": getsockname", errno);
  }
  Endpoint endpoint;
  endpoint.name = std::move(name);
  std::uint16_t port = 0;
  std::string address;
  if (bound.ss_family == AF_UNIX) {
    // Never endpoint.path: the socket's file belongs to the manager that made it.
    endpoint.kind = Endpoint::Kind::Unix;
    const auto& un = reinterpret_cast<const sockaddr_un&>(bound);
    const auto path_len = bound_len > offsetof(sockaddr_un, sun_path)
                              ? bound_len - offsetof(sockaddr_un, sun_path)
                              : 0;
    std::string path(un.sun_path, path_len);
    if (!path.empty() && path.front() == '\0') {
      path.front() = '@';  // abstract
    } else if (const auto nul = path.find('\0'); nul != std::string::npos) {
      path.resize(nul);
    }
    address = "unix:" + path;
  } else {
    address = format_address(bound, &port);
    endpoint.port = port;
  }
  return ListenSocket(std::move(endpoint), std::move(fd), std::move(address), port);
}

Result<std::vector<ListenSocket>> inherited_sockets() {
  // sd_listen_fds(3): the first passed descriptor is 3.
  constexpr int kFirstFd = 3;
  const char* pid_text = std::getenv("LISTEN_PID");
  const char* count_text = std::getenv("LISTEN_FDS");
  const std::string names_text = std::getenv("LISTEN_FDNAMES") ? std::getenv("LISTEN_FDNAMES") : "";
  const auto pid = parse_number(pid_text);
  const auto count = parse_number(count_text);
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  std::vector<ListenSocket> sockets;
  if (count_text == nullptr) return sockets;
  // Meant for another process (inherited through one that did not clear them): not ours.
  if (!pid || *pid != static_cast<unsigned>(::getpid())) return sockets;
  if (!count || *count > 1024) {
    return make_error(errc::bad_config,
                      fmt::format("socket activation: bad LISTEN_FDS '{}'", count_text));
  }
  std::vector<std::string> names;
  for (std::size_t start = 0; !names_text.empty();) {
    const auto colon = names_text.find(':', start);
    names.push_back(names_text.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (!names.empty() && names.size() != *count) {
    return make_error(errc::bad_config,
                      fmt::format("socket activation: LISTEN_FDNAMES names {} socket(s), "
                                  "LISTEN_FDS passes {}",
                                  names.size(), *count));
  }
  for (unsigned i = 0; i < *count; ++i) {
    std::string name = names.empty() ? "listen" : names[i];
    if (!valid_name(name)) {
      return make_error(errc::bad_config,
                        fmt::format("socket activation: bad name '{}' in LISTEN_FDNAMES", name));
    }
    auto socket = ListenSocket::adopt(UniqueFd(kFirstFd + static_cast<int>(i)), std::move(name));
    if (!socket) return socket.error();
    sockets.push_back(std::move(*socket));
  }
  return sockets;
}

}  // namespace cservice::os
