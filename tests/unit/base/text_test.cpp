#include "base/text.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace cservice {
namespace {

using namespace std::string_literals;

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

}  // namespace
}  // namespace cservice
