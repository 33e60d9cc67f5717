#include "base/text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace cservice {
namespace {

bool in(unsigned char byte, unsigned char low, unsigned char high) {
  return byte >= low && byte <= high;
}

// The length of the well-formed UTF-8 character at the start of `s`, or 0 if there is none.
// Table 3-7 of the Unicode standard: no overlong forms, no surrogates, nothing past U+10FFFF.
std::size_t character_length(std::string_view s) {
  const auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  const auto continued = [&](std::size_t count, unsigned char low, unsigned char high) {
    if (s.size() <= count || !in(byte(1), low, high)) return false;
    for (std::size_t i = 2; i <= count; ++i) {
      if (!in(byte(i), 0x80, 0xBF)) return false;
    }
    return true;
  };
  if (in(lead, 0xC2, 0xDF)) return continued(1, 0x80, 0xBF) ? 2 : 0;
  if (lead == 0xE0) return continued(2, 0xA0, 0xBF) ? 3 : 0;
  if (in(lead, 0xE1, 0xEC) || in(lead, 0xEE, 0xEF)) return continued(2, 0x80, 0xBF) ? 3 : 0;
  if (lead == 0xED) return continued(2, 0x80, 0x9F) ? 3 : 0;
  if (lead == 0xF0) return continued(3, 0x90, 0xBF) ? 4 : 0;
  if (in(lead, 0xF1, 0xF3)) return continued(3, 0x80, 0xBF) ? 4 : 0;
  if (lead == 0xF4) return continued(3, 0x80, 0x8F) ? 4 : 0;
  return 0;
}

bool plain(std::string_view bytes, Backslashes backslashes) {
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7E || (c == '\\' && backslashes == Backslashes::Escaped)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string sanitize_text(std::string_view bytes, std::size_t max_bytes, Backslashes backslashes) {
  // Most text is printable ASCII and short: one scan, one copy.
  if (bytes.size() <= max_bytes && plain(bytes, backslashes)) return std::string(bytes);
  std::string out;
  out.reserve(std::min(bytes.size(), max_bytes) + 16);
  std::size_t at = 0;
  while (at < bytes.size()) {
    const std::string_view rest = bytes.substr(at);
    const auto byte = static_cast<unsigned char>(rest[0]);
    std::size_t length = character_length(rest);
    std::string piece;
    if (length == 0) {
      piece = fmt::format("\\x{:02x}", byte);
      length = 1;
    } else if (byte == '\n') {
      piece = "\\n";
    } else if (byte == '\r') {
      piece = "\\r";
    } else if (byte == '\t') {
      piece = "\\t";
    } else if (byte == '\0') {
      piece = "\\0";
    } else if (byte < 0x20 || byte == 0x7F) {
      piece = fmt::format("\\x{:02x}", byte);
    } else if (byte == 0xC2 && static_cast<unsigned char>(rest[1]) < 0xA0) {
      // U+0080..U+009F: C1 controls, which some terminals obey (U+009B starts a CSI sequence).
      piece = fmt::format("\\u{:04x}", static_cast<unsigned char>(rest[1]));
    } else if (byte == '\\' && backslashes == Backslashes::Escaped) {
      piece = "\\\\";
    } else {
      piece = std::string(rest.substr(0, length));
    }
    if (out.size() + piece.size() > max_bytes) {
      out += fmt::format("...(+{} bytes)", bytes.size() - at);
      return out;
    }
    out += piece;
    at += length;
  }
  return out;
}

}  // namespace cservice
