// Access keys are masked in every log line, whatever path brought them there; each style of
// line (plain, text, JSON, under the journal) has its form, whatever the message holds.

#include "base/log.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace cservice::log {
namespace {

TEST(LogRedactTest, ASecretIsMaskedWhereverItAppears) {
  std::vector<std::string> lines;
  set_sink([&](Level, std::string_view line) { lines.emplace_back(line); });
  redact("redact-me-7d1e");
  redact("abc");  // too short to look for: it would mask ordinary words
  info("failed: GET /x?accessKey=redact-me-7d1e&k=redact-me-7d1eredact-me-7d1e");
  info("abc and abcdef stay");
  reset_sink();
  EXPECT_EQ(lines, (std::vector<std::string>{"failed: GET /x?accessKey=***&k=******",
                                             "abc and abcdef stay"}));
}

// 2026-11-28T16:20:01.123456Z: the sub-millisecond part is cut, not rounded.
SystemTime fixed_time() {
  using namespace std::chrono;
  return sys_days{year{2026} / 11 / 28} + hours(16) + minutes(20) + seconds(1) +
         microseconds(123456);
}

TEST(LogFormatTest, PlainLinesAreTheCommandLinesOwn) {
  EXPECT_EQ(format_line({}, fixed_time(), Level::Info, "hello"), "cservice: hello\n");
  EXPECT_EQ(format_line({}, fixed_time(), Level::Warning, "hm"), "cservice: warning: hm\n");
  EXPECT_EQ(format_line({}, fixed_time(), Level::Error, "no"), "cservice: error: no\n");
}

TEST(LogFormatTest, TextLinesStartWithAnRfc3339TimeInUtcAndALevel) {
  const Style text{.format = Format::Text};
  EXPECT_EQ(format_line(text, fixed_time(), Level::Info, "worker 1 ready"),
            "2026-11-28T16:20:01.123Z info cservice: worker 1 ready\n");
  EXPECT_EQ(format_line(text, fixed_time(), Level::Warning, "slow"),
            "2026-11-28T16:20:01.123Z warn cservice: slow\n");
  EXPECT_EQ(format_line(text, fixed_time(), Level::Error, "failed"),
            "2026-11-28T16:20:01.123Z error cservice: failed\n");
  // The epoch and a time before it are written as any other.
  EXPECT_EQ(format_line(text, SystemTime{}, Level::Info, "x"),
            "1970-01-01T00:00:00.000Z info cservice: x\n");
}

TEST(LogFormatTest, UnderTheJournalAPriorityReplacesTimeAndLevel) {
  const Style journal{.format = Format::Text, .journal = true};
  EXPECT_EQ(format_line(journal, fixed_time(), Level::Info, "a"), "<6>cservice: a\n");
  EXPECT_EQ(format_line(journal, fixed_time(), Level::Warning, "b"), "<4>cservice: b\n");
  EXPECT_EQ(format_line(journal, fixed_time(), Level::Error, "c"), "<3>cservice: c\n");
  EXPECT_EQ(format_line({.format = Format::Json, .journal = true}, fixed_time(), Level::Warning,
                        "d"),
            "<4>{\"time\":\"2026-11-28T16:20:01.123Z\",\"level\":\"warn\",\"message\":\"d\"}\n");
}

TEST(LogFormatTest, JsonLinesAreOneValidObjectWhateverTheMessageHolds) {
  using namespace std::string_literals;
  const std::string hostile = "quote \" back \\ nl \n nul \0 esc \x1b bad \xff\xfe caf\xc3\xa9"s;
  const std::string line = format_line({.format = Format::Json}, fixed_time(), Level::Error, hostile);
  ASSERT_TRUE(line.ends_with("}\n")) << line;
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;  // one line
  const auto object = nlohmann::json::parse(line.substr(0, line.size() - 1), nullptr, false);
  ASSERT_FALSE(object.is_discarded()) << line;
  EXPECT_EQ(object.dump(), nlohmann::json({{"level", "error"},
                                           {"message", "quote \" back \\ nl \n nul "s + '\0' +
                                                           " esc \x1b bad \xef\xbf\xbd\xef\xbf\xbd "
                                                           "caf\xc3\xa9"},
                                           {"time", "2026-11-28T16:20:01.123Z"}})
                               .dump());
  EXPECT_TRUE(line.starts_with("{\"time\":")) << "time comes first, for people reading: " << line;
}

TEST(LogFormatTest, WrittenLinesAreMessagesMadeOneLineFirst) {
  // write() sanitizes before the style is applied: a '\n' in a value cannot start a line.
  std::vector<std::string> lines;
  set_sink([&](Level, std::string_view line) { lines.emplace_back(line); });
  info("a\nb");
  reset_sink();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "a\\nb");
}

}  // namespace
}  // namespace cservice::log
