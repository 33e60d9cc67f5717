// How a worker's line is written in each style of the log: plain, text (time and level), JSON
// (one valid object whatever the bytes), and under the journal (the worker's own priority kept).

#include "runtime/stdio_relay.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace cservice::runtime {
namespace {

using namespace std::string_literals;

log::SystemTime fixed_time() {
  using namespace std::chrono;
  return sys_days{year{2026} / 11 / 28} + hours(16) + minutes(20) + seconds(1) +
         milliseconds(123);
}

std::string relayed(log::Style style, std::string_view line, RelayBytes bytes = RelayBytes::Escaped,
                    Stream stream = Stream::Stdout) {
  const RelayLineFormat format = relay_line_format(style, fixed_time(), {3, 4242, stream});
  std::string batch;
  std::string scratch;
  append_relayed_line(batch, format, line, bytes, scratch);
  return batch;
}

TEST(RelayLineTest, PlainLinesNameTheWorker) {
  EXPECT_EQ(relayed({}, "hello"), "worker 3[4242]: hello\n");
}

TEST(RelayLineTest, TextLinesStartWithTheTimeAndLevelAsTheMastersDo) {
  const log::Style text{.format = log::Format::Text};
  EXPECT_EQ(relayed(text, "hello"), "2026-11-28T16:20:01.123Z info worker 3[4242]: hello\n");
  EXPECT_EQ(relayed(text, "oops", RelayBytes::Escaped, Stream::Stderr),
            "2026-11-28T16:20:01.123Z info worker 3[4242]: oops\n");
  EXPECT_EQ(relayed(text, "esc \x1b[2J crlf\r"),
            "2026-11-28T16:20:01.123Z info worker 3[4242]: esc \\x1b[2J crlf\n");
}

TEST(RelayLineTest, UnderTheJournalAWorkersOwnPriorityStaysFirst) {
  const log::Style journal{.format = log::Format::Text, .journal = true};
  EXPECT_EQ(relayed(journal, "plain"), "worker 3[4242]: plain\n");
  EXPECT_EQ(relayed(journal, "<3>disk full"), "<3>worker 3[4242]: disk full\n");
  EXPECT_EQ(relayed(journal, "<9>not a priority"), "worker 3[4242]: <9>not a priority\n");
}

TEST(RelayLineTest, JsonLinesCarryWorkerPidAndStreamAndAreValidWhateverTheBytes) {
  const log::Style json{.format = log::Format::Json};
  const std::string hostile = "q\" b\\ esc \x1b bad \xff caf\xc3\xa9 nul \0 end"s;
  for (const auto bytes : {RelayBytes::Escaped, RelayBytes::Raw}) {
    const std::string line = relayed(json, hostile, bytes, Stream::Stderr);
    ASSERT_EQ(line.find('\n'), line.size() - 1) << line;
    const auto object = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(object.is_object()) << line;
    EXPECT_EQ(object["time"], "2026-11-28T16:20:01.123Z");
    EXPECT_EQ(object["level"], "info");
    EXPECT_EQ(object["worker"], 3);
    EXPECT_EQ(object["pid"], 4242);
    EXPECT_EQ(object["stream"], "stderr");
    EXPECT_EQ(object["message"], bytes == RelayBytes::Escaped
                                     ? "q\" b\\ esc \\x1b bad \\xff caf\xc3\xa9 nul \\0 end"s
                                     : "q\" b\\ esc \x1b bad \xef\xbf\xbd caf\xc3\xa9 nul \0 end"s)
        << line;
  }
}

}  // namespace
}  // namespace cservice::runtime
