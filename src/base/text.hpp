#pragma once
// Text from outside the master's code (a worker's STATUS=, an event or command name from the
// worker channel, a peer's request target) made safe to log and to put in JSON: the result is
// valid UTF-8, one line, free of control characters, and bounded. Pure functions.
//
//   a well-formed UTF-8 character, printable      kept as it is
//   '\n' '\r' '\t' NUL                             \n \r \t \0
//   another C0 control, DEL                        \xNN (ESC is \x1b)
//   a C1 control (U+0080..U+009F)                  \u0080 .. \u009f
//   a bidirectional control (U+061C, U+200E,       \u061c, \u200e, \u202e, ...
//     U+200F, U+202A..U+202E, U+2066..U+2069)
//   a byte that starts no well-formed character    \xNN (one escape per byte)
//   a backslash                                    \\ (with Backslashes::Escaped)
//
// Escaping backslashes makes every escape unambiguous: a worker that sends the two characters
// `\n` is shown as `\\n`, never as a newline it did not send. The master's own log lines keep
// their backslashes (Backslashes::Kept): values from outside are escaped where they enter, and
// the log escapes what is left only so that no value can break a line.
//
// Longer than `max_bytes`: cut at a character, never inside an escape or a multi-byte
// character, and followed by "...(+N bytes)", N counting the input bytes left out.
//
// append_escaped() is the same escaping without the bound, for text that is relayed whole (a
// line of a worker's output): the caller bounds it.

#include <cstddef>
#include <string>
#include <string_view>

namespace cservice {

enum class Backslashes { Escaped, Kept };
// Whether a tab is escaped (\t) or kept: harmless on a terminal (it moves right, never back)
// and common in a program's output (stack traces, columns), but a value of one line has none.
enum class Tabs { Escaped, Kept };

// The default bound for a value from outside (a status text, a name, a request target).
inline constexpr std::size_t kMaxTextBytes = 1024;

// `path` without "." components and repeated slashes ("/srv/./app//w" is "/srv/app/w"). ".."
// stays: dropping "dir/.." could name another file where dir is a symbolic link.
std::string without_dot_components(std::string_view path);

std::string sanitize_text(std::string_view bytes, std::size_t max_bytes = kMaxTextBytes,
                          Backslashes backslashes = Backslashes::Escaped);

// Appends `bytes` to `out`, escaped as the table above says (tabs as `tabs` says), never cut.
// The result is at most four times as long as `bytes` (each byte as \xNN). Allocates only as
// `out` grows.
void append_escaped(std::string& out, std::string_view bytes, Backslashes backslashes, Tabs tabs);

}  // namespace cservice
