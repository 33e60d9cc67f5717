#include "os/real_path.hpp"

#include <filesystem>
#include <fmt/format.h>

namespace cservice::os {
namespace fs = std::filesystem;

Result<std::string> real_path(std::string_view what, const std::string& path) {
  std::error_code ec;
  const fs::path resolved = fs::canonical(path, ec);
  if (ec) {
    return Error{ec, fmt::format("{} {}: {}", what, path_and_target(path, followed_path(path)),
                                 ec.message())};
  }
  return resolved.string();
}

std::string followed_path(const std::string& path) {
  std::error_code ec;
  fs::path at = fs::weakly_canonical(path, ec);  // resolves the longest prefix that exists
  if (ec) return path;
  // weakly_canonical stops before a dangling link, which is the one a deploy tool re-pointed:
  // follow it by hand. A bounded number of times, as a loop of links never ends.
  for (int links = 0; links < 40; ++links) {
    fs::path prefix;
    bool replaced = false;
    for (auto part = at.begin(); part != at.end() && !replaced; ++part) {
      prefix /= *part;
      if (!fs::is_symlink(prefix, ec)) continue;
      const fs::path target = fs::read_symlink(prefix, ec);
      if (ec) return at.string();
      fs::path rest;
      for (auto after = std::next(part); after != at.end(); ++after) rest /= *after;
      // An absolute target replaces the parent; a relative one is taken from it.
      fs::path joined = prefix.parent_path() / target;
      if (!rest.empty()) joined /= rest;
      fs::path next = fs::weakly_canonical(joined, ec);
      if (ec || next == at) return at.string();
      at = std::move(next);
      replaced = true;
    }
    if (!replaced) break;
  }
  return at.string();
}

std::string path_and_target(const std::string& path, const std::string& resolved) {
  return path == resolved ? path : fmt::format("{} is {}", path, resolved);
}

}  // namespace cservice::os
