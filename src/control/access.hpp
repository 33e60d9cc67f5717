#pragma once
// AccessPolicy decides who may run what: the caller presents an access key, comes from a peer
// address (which gives its trust level), and names a command that requires some level. Keys are
// compared in constant time and never logged; a key is named in logs by its index ("key 2").
// Pure logic: no sockets.

#include "commands/trust_level.hpp"

#include <boost/asio/ip/address.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace cservice::controlplane {

using commands::TrustLevel;

struct AccessKey {
  std::string secret;
  std::optional<std::set<std::string>> commands;  // only these; nullopt: every command
};

// An address block, "127.0.0.0/8", "::1/128", "10.1.2.3" (a single host).
class Network {
 public:
  static std::optional<Network> parse(std::string_view text);
  bool contains(const boost::asio::ip::address& address) const;
  std::string to_string() const;

 private:
  boost::asio::ip::address base_;
  unsigned prefix_ = 0;
};

// Loopback: 127.0.0.0/8 and ::1 (IPv4-mapped loopback included).
std::vector<Network> loopback_networks();

enum class Decision {
  Allowed,
  BadKey,             // no key, or one that matches none (401)
  CommandNotForKey,   // the key exists but may not run this command (401)
  LevelTooLow,        // the caller's trust level is below the command's (401)
  Disabled,           // the command is disabled (401)
};
const char* describe(Decision decision);

class AccessPolicy {
 public:
  AccessPolicy(std::vector<AccessKey> keys, std::vector<Network> local_networks);

  bool has_keys() const { return !keys_.empty(); }
  // The trust level of a network peer: Local inside a local network, else Remote.
  TrustLevel peer_level(const boost::asio::ip::address& peer) const;
  // The index of the key equal to `presented`; every key is compared, each in constant time.
  std::optional<std::size_t> match_key(std::string_view presented) const;

  Decision decide(std::string_view presented_key, TrustLevel caller, const std::string& command,
                  TrustLevel required) const;
  // The level check alone, for callers authenticated otherwise (library code, a worker known
  // by its peer credentials).
  static Decision decide_level(TrustLevel caller, TrustLevel required);

 private:
  std::vector<AccessKey> keys_;
  std::vector<Network> local_networks_;
};

// Equal in time that depends only on the length of `presented`.
bool constant_time_equal(std::string_view presented, std::string_view secret);

}  // namespace cservice::controlplane
