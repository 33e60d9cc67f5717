#include "control/access.hpp"

#include <charconv>
#include <fmt/format.h>

namespace cservice::controlplane {

namespace ip = boost::asio::ip;

std::optional<Network> Network::parse(std::string_view text) {
  const auto slash = text.find('/');
  boost::system::error_code ec;
  const ip::address base = ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) return std::nullopt;
  const unsigned bits = base.is_v4() ? 32 : 128;
  unsigned prefix = bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || err != std::errc() || end != digits.data() + digits.size() ||
        prefix > bits) {
      return std::nullopt;
    }
  }
  Network network;
  network.base_ = base;
  network.prefix_ = prefix;
  return network;
}

bool Network::contains(const ip::address& raw) const {
  ip::address address = raw;
  // A v4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
  if (address.is_v6() && address.to_v6().is_v4_mapped() && base_.is_v4()) {
    address = ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  if (address.is_v4() != base_.is_v4()) return false;
  const auto bytes_of = [](const ip::address& a) {
    std::array<unsigned char, 16> out{};
    if (a.is_v4()) {
      const auto b = a.to_v4().to_bytes();
      std::copy(b.begin(), b.end(), out.begin());
    } else {
      out = a.to_v6().to_bytes();
    }
    return out;
  };
  const auto a = bytes_of(address);
  const auto b = bytes_of(base_);
  unsigned bits = prefix_;
  for (std::size_t i = 0; bits > 0; ++i, bits = bits >= 8 ? bits - 8 : 0) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const auto mask = static_cast<unsigned char>(0xFF << (8 - take));
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

std::string Network::to_string() const { return fmt::format("{}/{}", base_.to_string(), prefix_); }

std::vector<Network> loopback_networks() {
  return {*Network::parse("127.0.0.0/8"), *Network::parse("::1/128")};
}

const char* describe(Decision decision) {
  switch (decision) {
    case Decision::Allowed: return "allowed";
    case Decision::BadKey: return "bad or missing access key";
    case Decision::CommandNotForKey: return "this access key may not run this command";
    case Decision::LevelTooLow: return "insufficient access level";
    case Decision::Disabled: return "command disabled";
  }
  return "refused";
}

bool constant_time_equal(std::string_view presented, std::string_view secret) {
  if (secret.empty()) return false;
  unsigned char diff = presented.size() == secret.size() ? 0 : 1;
  for (std::size_t i = 0; i < presented.size(); ++i) {
    diff |= static_cast<unsigned char>(presented[i] ^ secret[i % secret.size()]);
  }
  return diff == 0 && !presented.empty();
}

AccessPolicy::AccessPolicy(std::vector<AccessKey> keys, std::vector<Network> local_networks)
    : keys_(std::move(keys)), local_networks_(std::move(local_networks)) {}

TrustLevel AccessPolicy::peer_level(const ip::address& peer) const {
  for (const auto& network : local_networks_) {
    if (network.contains(peer)) return TrustLevel::Local;
  }
  return TrustLevel::Remote;
}

std::optional<std::size_t> AccessPolicy::match_key(std::string_view presented) const {
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    // No early exit: the time does not tell which key, or whether any, matched.
    if (constant_time_equal(presented, keys_[i].secret) && !found) found = i;
  }
  return found;
}

Decision AccessPolicy::decide(std::string_view presented_key, TrustLevel caller,
                              const std::string& command, TrustLevel required) const {
  // The console and library code (inproc) hold no key; everyone else needs one.
  if (caller != TrustLevel::Inproc) {
    const auto key = match_key(presented_key);
    if (!key) return Decision::BadKey;
    const auto& allowed = keys_[*key].commands;
    if (allowed && !allowed->contains(command)) return Decision::CommandNotForKey;
  }
  return decide_level(caller, required);
}

Decision AccessPolicy::decide_level(TrustLevel caller, TrustLevel required) {
  if (required == TrustLevel::Disabled) return Decision::Disabled;
  if (!commands::may_call(caller, required)) return Decision::LevelTooLow;
  return Decision::Allowed;
}

}  // namespace cservice::controlplane
