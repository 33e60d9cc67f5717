#include "control/command_line.hpp"

#include <gtest/gtest.h>

namespace cservice::controlplane {
namespace {

using nlohmann::json;

TEST(CommandLineTest, WordsNumbersAndJson) {
  auto line = parse_command_line(R"(restart all {"timeout": 5000})");
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_EQ(line->name, "restart");
  ASSERT_EQ(line->args.size(), 2u);
  EXPECT_EQ(line->args[0], "all");
  EXPECT_EQ(line->args[1], json({{"timeout", 5000}}));
}

TEST(CommandLineTest, TypedScalarsAndStrings) {
  auto line = parse_command_line(R"(  upgrade 1234 "./build 2/server" 'a "b"' true null -1.5 [1,2]  )");
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_EQ(line->name, "upgrade");
  ASSERT_EQ(line->args.size(), 7u);
  EXPECT_EQ(line->args[0], 1234);
  EXPECT_EQ(line->args[1], "./build 2/server");
  EXPECT_EQ(line->args[2], "a \"b\"");
  EXPECT_EQ(line->args[3], true);
  EXPECT_TRUE(line->args[4].is_null());
  EXPECT_EQ(line->args[5], -1.5);
  EXPECT_EQ(line->args[6], json::array({1, 2}));
}

TEST(CommandLineTest, WordsThatOnlyLookNumeric) {
  auto line = parse_command_line("start ./v2/server -x 3rd");
  ASSERT_TRUE(line);
  EXPECT_EQ(line->args, (std::vector<json>{"./v2/server", "-x", "3rd"}));
}

TEST(CommandLineTest, NestedJsonWithBracesInStrings) {
  auto line = parse_command_line(R"(x {"a": "}{", "b": [{"c": "]"}]} y)");
  ASSERT_TRUE(line) << line.error().message;
  ASSERT_EQ(line->args.size(), 2u);
  EXPECT_EQ(line->args[0]["a"], "}{");
  EXPECT_EQ(line->args[1], "y");
}

TEST(CommandLineTest, MalformedLinesSayWhere) {
  const auto error_of = [](std::string_view text) {
    auto line = parse_command_line(text);
    return line ? std::string("(parsed)") : line.error().message;
  };
  EXPECT_EQ(error_of(""), "bad command line: empty");
  EXPECT_EQ(error_of("   "), "bad command line: empty");
  EXPECT_EQ(error_of(R"(restart all {"timeout": 5000)"),
            "bad command line at character 13: unclosed JSON value");
  EXPECT_EQ(error_of(R"(restart all {"timeout": })"),
            "bad command line at character 13: invalid JSON value");
  EXPECT_EQ(error_of(R"(say "hello)"), "bad command line at character 5: unclosed string");
  EXPECT_EQ(error_of("say 'hello"), "bad command line at character 5: unclosed string");
  EXPECT_EQ(error_of(R"(say "a"b)"), "bad command line at character 8: expected a blank after the value");
  EXPECT_EQ(error_of("42 all"), "bad command line at character 1: a command line starts with the command's name");
}

}  // namespace
}  // namespace cservice::controlplane
