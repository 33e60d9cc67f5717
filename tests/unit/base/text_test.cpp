#include "base/text.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace cservice {
namespace {

using namespace std::string_literals;

TEST(WithoutDotComponentsTest, DropsDotsAndRepeatedSlashesButKeepsDotDot) {
  EXPECT_EQ(without_dot_components("/srv/./app//./w"), "/srv/app/w");
  EXPECT_EQ(without_dot_components("./w"), "w");
  EXPECT_EQ(without_dot_components("/srv/current/../w"), "/srv/current/../w");
  EXPECT_EQ(without_dot_components("/"), "/");
  EXPECT_EQ(without_dot_components("."), ".");
}

TEST(SanitizeTextTest, KeepsPrintableTextAsItIs) {
  EXPECT_EQ(sanitize_text("serving 4 clients: 100% {\"ok\": true}"),
            "serving 4 clients: 100% {\"ok\": true}");
  EXPECT_EQ(sanitize_text(""), "");
}

TEST(SanitizeTextTest, KeepsWellFormedMultiByteCharacters) {
  const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0";  // é € 😀 NBSP
  EXPECT_EQ(sanitize_text(text), text);
}

TEST(SanitizeTextTest, EscapesLineBreaksTabsAndNul) {
  EXPECT_EQ(sanitize_text("a\nb\rc\td\0e"s), "a\\nb\\rc\\td\\0e");
}

TEST(SanitizeTextTest, EscapesOtherControlCharactersAsHex) {
  EXPECT_EQ(sanitize_text("\x1b[31mred\x1b[0m\x7f\x01"), "\\x1b[31mred\\x1b[0m\\x7f\\x01");
}

TEST(SanitizeTextTest, EscapesC1Controls) {
  EXPECT_EQ(sanitize_text(std::string("a\xc2\x9b") + "31mb\xc2\x80"), "a\\u009b31mb\\u0080");
}

TEST(SanitizeTextTest, EscapesBidirectionalControls) {
  // U+202E RIGHT-TO-LEFT OVERRIDE: "worker-<U+202E>txt.exe" would read "worker-exe.txt".
  EXPECT_EQ(sanitize_text("worker-\xe2\x80\xaetxt.exe"), "worker-\\u202etxt.exe");
  EXPECT_EQ(sanitize_text("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad"),
            "\\u202a\\u202b\\u202c\\u202d");  // embeddings, PDF, LRO
  EXPECT_EQ(sanitize_text("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9"),
            "\\u2066\\u2067\\u2068\\u2069");  // isolates
  EXPECT_EQ(sanitize_text("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c"), "\\u200e\\u200f\\u061c");  // marks
  // Their neighbours are ordinary characters: ZWJ, U+2029, U+206A, U+061B (Arabic semicolon).
  const std::string neighbours = "\xe2\x80\x8d\xe2\x80\xa9\xe2\x81\xaa\xd8\x9b";
  EXPECT_EQ(sanitize_text(neighbours), neighbours);
}

TEST(SanitizeTextTest, EscapesBackslashesUnlessKept) {
  EXPECT_EQ(sanitize_text("C:\\dir\\n"), "C:\\\\dir\\\\n");
  EXPECT_EQ(sanitize_text("C:\\dir\\n", kMaxTextBytes, Backslashes::Kept), "C:\\dir\\n");
  // Kept backslashes do not keep control characters.
  EXPECT_EQ(sanitize_text("\\\n", kMaxTextBytes, Backslashes::Kept), "\\\\n");
}

TEST(SanitizeTextTest, EscapesEachByteThatStartsNoWellFormedCharacter) {
  EXPECT_EQ(sanitize_text("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(sanitize_text("a\x80z"), "a\\x80z");                         // lone continuation
  EXPECT_EQ(sanitize_text("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(sanitize_text("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");           // overlong
  EXPECT_EQ(sanitize_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(sanitize_text("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(sanitize_text("ok\xe2\x82"), "ok\\xe2\\x82");                // cut short at the end
  EXPECT_EQ(sanitize_text("\xe2\x82z"), "\\xe2\\x82z");                  // cut short by ASCII
}

TEST(SanitizeTextTest, CutsLongTextAtACharacterAndSaysHowMuchIsLeftOut) {
  EXPECT_EQ(sanitize_text(std::string(100, 'a'), 10), "aaaaaaaaaa...(+90 bytes)");
  // Never inside an escape: "\n" would need bytes 10 and 11.
  EXPECT_EQ(sanitize_text("aaaaaaaaa\nbbb", 10), "aaaaaaaaa...(+4 bytes)");
  // Never inside a multi-byte character.
  EXPECT_EQ(sanitize_text("aaaaaaaaa\xe2\x82\xac", 10), "aaaaaaaaa...(+3 bytes)");
  EXPECT_EQ(sanitize_text("abc", 3), "abc");
}

TEST(SanitizeTextTest, AnyBytesGiveOneLineOfValidUtf8) {
  std::mt19937 random(12345);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(random() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(random() % 256);
    const std::string clean = sanitize_text(bytes, 100);
    EXPECT_EQ(clean.find('\n'), std::string::npos);
    for (const char c : clean) {
      const auto byte = static_cast<unsigned char>(c);
      ASSERT_TRUE(byte >= 0x20 && byte != 0x7f) << "control byte in " << clean;
    }
    // nlohmann-json throws on invalid UTF-8 when it serializes: this must not.
    EXPECT_NO_THROW((void)nlohmann::json(clean).dump()) << clean;
    EXPECT_LE(clean.size(), 100u + 20u);
  }
}

TEST(AppendEscapedTest, EscapesAsSanitizeTextDoesButNeverCuts) {
  std::string out = "worker 1[42]: ";
  const std::string line = "out \x1b[31mred\r\xff\xfe \xe2\x80\xae line\0end"s;
  append_escaped(out, line, Backslashes::Escaped, Tabs::Escaped);
  EXPECT_EQ(out, "worker 1[42]: out \\x1b[31mred\\r\\xff\\xfe \\u202e line\\0end");

  std::string long_line;
  append_escaped(long_line, std::string(100000, 'a') + "\x01", Backslashes::Kept, Tabs::Kept);
  EXPECT_EQ(long_line, std::string(100000, 'a') + "\\x01");
}

TEST(AppendEscapedTest, KeepsTabsAndBackslashesWhenAsked) {
  std::string out;
  append_escaped(out, "\tat Main.run(C:\\src\\Main.java)\t\x1b", Backslashes::Kept, Tabs::Kept);
  EXPECT_EQ(out, "\tat Main.run(C:\\src\\Main.java)\t\\x1b");
  out.clear();
  append_escaped(out, "a\tb\\", Backslashes::Escaped, Tabs::Escaped);
  EXPECT_EQ(out, "a\\tb\\\\");
}

TEST(AppendEscapedTest, KeepsWellFormedMultiByteCharacters) {
  const std::string text =
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d";
  std::string out;
  append_escaped(out, text, Backslashes::Kept, Tabs::Kept);
  EXPECT_EQ(out, text);
}

TEST(AppendEscapedTest, AnyBytesGiveOneLineOfValidUtf8) {
  std::mt19937 random(54321);
  for (int round = 0; round < 2000; ++round) {
    // Mostly printable ASCII, so that long runs of it meet every other byte.
    std::string bytes(random() % 256, '\0');
    for (char& c : bytes) {
      c = static_cast<char>(random() % 4 != 0 ? 0x20 + random() % 95 : random() % 256);
    }
    std::string clean;
    append_escaped(clean, bytes, Backslashes::Kept, Tabs::Kept);
    for (const char c : clean) {
      const auto byte = static_cast<unsigned char>(c);
      ASSERT_TRUE((byte >= 0x20 && byte != 0x7f) || byte == '\t') << "control byte in " << clean;
    }
    EXPECT_NO_THROW((void)nlohmann::json(clean).dump()) << clean;
    EXPECT_LE(clean.size(), 4 * bytes.size());
    // Unbounded, with tabs escaped, it is sanitize_text.
    std::string same;
    append_escaped(same, bytes, Backslashes::Escaped, Tabs::Escaped);
    EXPECT_EQ(same, sanitize_text(bytes, 4 * bytes.size()));
  }
}

}  // namespace
}  // namespace cservice
