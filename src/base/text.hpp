#pragma once
// Text from outside the master's code (a worker's STATUS=, an event or command name from the
// worker channel, a peer's request target) made safe to log and to put in JSON: the result is
// valid UTF-8, one line, free of control characters, and bounded. Pure functions.
//
//   a well-formed UTF-8 character, printable      kept as it is
//   '\n' '\r' '\t' NUL                             \n \r \t \0
//   another C0 control, DEL                        \xNN (ESC is \x1b)
//   a C1 control (U+0080..U+009F)                  \u0080 .. \u009f
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

#include <cstddef>
#include <string>
#include <string_view>

namespace cservice {

enum class Backslashes { Escaped, Kept };

// The default bound for a value from outside (a status text, a name, a request target).
inline constexpr std::size_t kMaxTextBytes = 1024;

std::string sanitize_text(std::string_view bytes, std::size_t max_bytes = kMaxTextBytes,
                          Backslashes backslashes = Backslashes::Escaped);

}  // namespace cservice
