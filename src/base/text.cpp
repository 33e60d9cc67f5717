#include "base/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

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

// The code point of a well-formed two- or three-byte character.
char32_t code_point(std::string_view s, std::size_t length) {
  const auto bits = [&s](std::size_t i, unsigned mask) {
    return static_cast<char32_t>(static_cast<unsigned char>(s[i]) & mask);
  };
  if (length == 2) return bits(0, 0x1F) << 6 | bits(1, 0x3F);
  return bits(0, 0x0F) << 12 | bits(1, 0x3F) << 6 | bits(2, 0x3F);
}

// Multi-byte characters (`c` >= U+0080) shown as \uXXXX although well-formed: C1 controls
// (U+0080..U+009F, which some terminals obey: U+009B starts a CSI sequence) and the
// bidirectional controls, which reorder what a terminal or viewer shows after them (U+202E
// before "txt.exe" shows "exe.txt").
bool is_hidden_control(char32_t c) {
  return c <= 0x9F || c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069);
}

constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                       '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

// What the character at the start of `rest` becomes: a view of it, or an escape written into
// `escape`. `length` is set to the input bytes it stands for. Never allocates.
std::string_view escaped_character(std::string_view rest, Backslashes backslashes, Tabs tabs,
                                   std::array<char, 8>& escape, std::size_t& length) {
  const auto byte = static_cast<unsigned char>(rest[0]);
  length = character_length(rest);
  const auto hex = [&escape](unsigned value) {  // \xNN
    escape = {'\\', 'x', kHex[value >> 4], kHex[value & 0xF]};
    return std::string_view(escape.data(), 4);
  };
  const auto two = [&escape](char c) {  // \c
    escape = {'\\', c};
    return std::string_view(escape.data(), 2);
  };
  if (length == 0) {
    length = 1;
    return hex(byte);
  }
  if (length == 1) {
    switch (byte) {
      case '\n':
        return two('n');
      case '\r':
        return two('r');
      case '\0':
        return two('0');
      case '\t':
        return tabs == Tabs::Kept ? rest.substr(0, 1) : two('t');
      case '\\':
        return backslashes == Backslashes::Escaped ? two('\\') : rest.substr(0, 1);
      default:
        break;
    }
    if (byte < 0x20 || byte == 0x7F) return hex(byte);
    return rest.substr(0, 1);
  }
  if (length <= 3) {
    const char32_t c = code_point(rest, length);
    if (is_hidden_control(c)) {
      const auto value = static_cast<unsigned>(c);
      escape = {'\\',
                'u',
                kHex[value >> 12 & 0xF],
                kHex[value >> 8 & 0xF],
                kHex[value >> 4 & 0xF],
                kHex[value & 0xF]};
      return std::string_view(escape.data(), 6);
    }
  }
  return rest.substr(0, length);
}

// How many of the eight bytes of `word`, from the first in memory, need no closer look: printable
// ASCII (0x20..0x7E), and no backslash unless backslashes are kept. Bit tricks from "Bit
// Twiddling Hacks" (haszero, hasless, hasmore): a flagged byte is only ever followed by false
// flags, never preceded by one, so the first flag is exact.
std::size_t plain_bytes(std::uint64_t word, Backslashes backslashes) {
  constexpr std::uint64_t kOnes = ~std::uint64_t{0} / 255;
  constexpr std::uint64_t kHigh = kOnes * 0x80;
  const std::uint64_t below_space = (word - kOnes * 0x20) & ~word & kHigh;
  const std::uint64_t above_tilde = ((word + kOnes * (127 - 0x7E)) | word) & kHigh;
  std::uint64_t special = below_space | above_tilde;
  if (backslashes == Backslashes::Escaped) {
    const std::uint64_t x = word ^ (kOnes * '\\');
    special |= (x - kOnes) & ~x & kHigh;
  }
  if (special == 0) return 8;
  if constexpr (std::endian::native == std::endian::little) {
    return static_cast<std::size_t>(std::countr_zero(special)) / 8;
  } else {
    return static_cast<std::size_t>(std::countl_zero(special)) / 8;
  }
}

// The length of the leading run of `bytes` that stays as it is: printable ASCII (tabs and
// backslashes where they are kept) and well-formed characters that are no hidden control.
// ASCII is taken eight bytes at a time.
std::size_t kept_prefix(std::string_view bytes, Backslashes backslashes, Tabs tabs) {
  const std::size_t size = bytes.size();
  const auto plain_at = [&bytes, backslashes](std::size_t at) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + at, sizeof word);
    return plain_bytes(word, backslashes);
  };
  std::size_t i = 0;
  while (i < size) {
    if (size - i >= 8) {
      const std::size_t plain = plain_at(i);
      i += plain;
      if (plain == 8) continue;
    } else if (size >= 8 && plain_at(size - 8) == 8) {
      // A tail shorter than a word: the text's last word, overlapping what was checked
      // already, costs one more check, not a byte at a time.
      return size;
    }
    // The byte at `i` needs a closer look.
    const auto byte = static_cast<unsigned char>(bytes[i]);
    if (byte < 0x80) {
      const bool kept =
          (byte >= 0x20 && byte <= 0x7E && (byte != '\\' || backslashes == Backslashes::Kept)) ||
          (byte == '\t' && tabs == Tabs::Kept);
      if (!kept) break;
      ++i;
      continue;
    }
    const std::size_t length = character_length(bytes.substr(i));
    if (length == 0) break;
    // Hidden controls all start with one of these bytes: most characters need no decoding.
    if ((byte == 0xC2 || byte == 0xD8 || byte == 0xE2) &&
        is_hidden_control(code_point(bytes.substr(i), length))) {
      break;
    }
    i += length;
  }
  return i;
}

}  // namespace

std::string sanitize_text(std::string_view bytes, std::size_t max_bytes, Backslashes backslashes) {
  // Most text needs no escape and is short: one scan, one copy.
  if (bytes.size() <= max_bytes && kept_prefix(bytes, backslashes, Tabs::Escaped) == bytes.size()) {
    return std::string(bytes);
  }
  std::string out;
  out.reserve(std::min(bytes.size(), max_bytes) + 16);
  std::array<char, 8> escape{};
  std::size_t at = 0;
  while (at < bytes.size()) {
    std::size_t length = 0;
    const std::string_view piece =
        escaped_character(bytes.substr(at), backslashes, Tabs::Escaped, escape, length);
    if (out.size() + piece.size() > max_bytes) {
      out += fmt::format("...(+{} bytes)", bytes.size() - at);
      return out;
    }
    out += piece;
    at += length;
  }
  return out;
}

void append_escaped(std::string& out, std::string_view bytes, Backslashes backslashes, Tabs tabs) {
  std::array<char, 8> escape{};
  while (!bytes.empty()) {
    // What stays as it is goes in one append; only what needs an escape is looked at alone.
    const std::size_t kept = kept_prefix(bytes, backslashes, tabs);
    out.append(bytes.data(), kept);
    bytes.remove_prefix(kept);
    if (bytes.empty()) break;
    std::size_t length = 0;
    out += escaped_character(bytes, backslashes, tabs, escape, length);
    bytes.remove_prefix(length);
  }
}

std::string without_dot_components(std::string_view path) {
  std::string out;
  if (path.starts_with('/')) out = "/";
  while (!path.empty()) {
    const auto slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
    if (part.empty() || part == ".") continue;
    if (!out.empty() && out.back() != '/') out += '/';
    out += part;
  }
  return out.empty() ? std::string(".") : out;
}

}  // namespace cservice
