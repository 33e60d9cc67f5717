#include "commands/test_run.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

namespace cservice::commands {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TestRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "cservice-test-run-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    script_ = dir_ + "/check.sh";
    std::ofstream(script_) << "#!/bin/sh\n";
    fs::permissions(script_, fs::perms::owner_all);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string parse_error(const std::vector<json>& args) {
    auto run = parse_test_run(args);
    EXPECT_FALSE(run) << json(args).dump();
    if (run) return {};
    EXPECT_EQ(run.error().code, make_error_code(errc::bad_request));
    return run.error().message;
  }
  TestRun run(std::optional<Milliseconds> timeout = std::nullopt) { return {script_, {}, timeout}; }

  std::string dir_;
  std::string script_;
};

TEST_F(TestRunTest, PositionalTimeoutAndOptionsObjectWhichWins) {
  auto bare = parse_test_run({json(script_)});
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_EQ(bare->script, script_);
  EXPECT_FALSE(bare->timeout.has_value()) << "no time-out by default";

  auto positional = parse_test_run({json(script_), json(5000)});
  ASSERT_TRUE(positional) << positional.error().message;
  EXPECT_EQ(positional->timeout, Milliseconds(5000));
  EXPECT_FALSE(parse_test_run({json(script_), json(0)}).value().timeout.has_value()) << "0 is none";

  auto both = parse_test_run(
      {json(script_), json(5000), json{{"timeout", 200}, {"args", {"fast", "--verbose"}}}});
  ASSERT_TRUE(both) << both.error().message;
  EXPECT_EQ(both->timeout, Milliseconds(200));
  EXPECT_EQ(both->args, (std::vector<std::string>{"fast", "--verbose"}));

  auto object_only = parse_test_run({json(script_), json{{"args", json::array()}}});
  ASSERT_TRUE(object_only) << object_only.error().message;
  EXPECT_FALSE(object_only->timeout.has_value());
}

TEST_F(TestRunTest, RelativeScriptIsTakenFromTheWorkingDirectory) {
  const auto previous = fs::current_path();
  fs::current_path(dir_);
  auto relative = parse_test_run({json("./check.sh")});
  fs::current_path(previous);
  ASSERT_TRUE(relative) << relative.error().message;
  EXPECT_EQ(relative->script, script_);
}

TEST_F(TestRunTest, BadArgumentsAreBadRequestsNamingThem) {
  EXPECT_EQ(parse_error({}),
            "test: expected a test script; usage: test testScript [timeout] "
            "[{\"timeout\": ms, \"args\": [...]}]");
  EXPECT_EQ(parse_error({json(dir_ + "/missing.sh")}),
            "test: program " + dir_ + "/missing.sh: No such file or directory");
  EXPECT_EQ(parse_error({json(dir_)}), "test: program " + dir_ + ": is a directory");
  std::ofstream(dir_ + "/plain.txt") << "text\n";
  EXPECT_EQ(parse_error({json(dir_ + "/plain.txt")}),
            "test: program " + dir_ + "/plain.txt: Permission denied");
  const std::string expected_timeout =
      "test: timeout must be milliseconds, a whole number from 0 (none) to 604800000, got ";
  EXPECT_EQ(parse_error({json(script_), json(-1)}), expected_timeout + "-1");
  EXPECT_EQ(parse_error({json(script_), json("soon")}), expected_timeout + "\"soon\"");
  EXPECT_EQ(parse_error({json(script_), json(1.5)}), expected_timeout + "1.5");
  EXPECT_EQ(parse_error({json(script_), json(604800001)}), expected_timeout + "604800001");
  EXPECT_EQ(parse_error({json(script_), json{{"timeout", "1s"}}}), expected_timeout + "\"1s\"");
  EXPECT_EQ(parse_error({json(script_), json{{"args", "a b"}}}),
            "test: args must be an array of strings, got \"a b\"");
  EXPECT_EQ(parse_error({json(script_), json{{"cwd", "/"}}}), "test: unknown option 'cwd'");
  EXPECT_EQ(parse_error({json(script_), json(10), json(20)}),
            "test: unexpected argument 20; usage: test testScript [timeout] "
            "[{\"timeout\": ms, \"args\": [...]}]");
  EXPECT_EQ(parse_error({json(script_), json(10), json::object(), json::object()}),
            "test: too many arguments");
}

TEST(OutputTailTest, KeepsTheLastTwentyLinesEscaped) {
  std::string output;
  for (int i = 1; i <= 30; ++i) output += "line " + std::to_string(i) + "\n";
  std::string expected;
  for (int i = 11; i <= 30; ++i) expected += fmt::format("{}line {}", i > 11 ? "\n" : "", i);
  EXPECT_EQ(output_tail(output), expected);
  EXPECT_EQ(output_tail("a\r\n\tb \x1b[31mred\\\n\n\n"), "a\n\tb \\x1b[31mred\\\\");
  EXPECT_EQ(output_tail("bad \xff byte"), "bad \\xff byte");
  EXPECT_EQ(output_tail(""), "");
  EXPECT_EQ(output_tail("\n\n"), "");
}

TEST(OutputTailTest, KeepsAtMostFourKibibytesCutAtACharacter) {
  // One long line of three-byte characters, so that the cut falls inside one.
  std::string output;
  while (output.size() < 3 * kTailBytes) output += "\xe2\x82\xac";  // U+20AC
  output += "x";
  const std::string tail = output_tail(output);
  EXPECT_LE(tail.size(), kTailBytes);
  EXPECT_GE(tail.size(), kTailBytes - 3);
  EXPECT_EQ(tail.find('\\'), std::string::npos) << "no escaped piece of a cut character";
  EXPECT_EQ(tail.back(), 'x');
}

TEST_F(TestRunTest, ExitZeroPassesWithTheTailOfItsOutput) {
  auto answer = test_answer(run(), {supervisor::ExitStatus::exited(0), false, "ok 1\nok 2\n", false,
                                    "", Milliseconds(42)});
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(*answer, (json{{"test", script_},
                           {"passed", true},
                           {"exitStatus", 0},
                           {"durationMs", 42},
                           {"output", "ok 1\nok 2"}}));
}

TEST_F(TestRunTest, AnyOtherEndIsAFailureNamingTheScriptHowItEndedAndItsOutput) {
  auto failed = test_answer(run(), {supervisor::ExitStatus::exited(3), false,
                                    "checking\nhealth: 503\n", false, "", Milliseconds(12)});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, make_error_code(errc::failed));
  EXPECT_EQ(failed.error().message,
            "test " + script_ + ": failed (exit 3) after 12 ms; output:\nchecking\nhealth: 503");

  auto crashed = test_answer(
      run(), {supervisor::ExitStatus::killed(SIGSEGV), false, "", false, "", Milliseconds(5)});
  ASSERT_FALSE(crashed);
  EXPECT_EQ(crashed.error().message,
            "test " + script_ + ": failed (killed by SIGSEGV) after 5 ms; no output");

  auto timed_out = test_answer(
      run(Milliseconds(300)),
      {supervisor::ExitStatus::killed(SIGKILL), true, "waiting\n", false, "", Milliseconds(301)});
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error().message,
            "test " + script_ +
                ": timed out after 300 ms (killed with its process group); output:\nwaiting");

  auto cut = test_answer(
      run(), {supervisor::ExitStatus::exited(1), false, "the end\n", true, "", Milliseconds(7)});
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().message,
            "test " + script_ + ": failed (exit 1) after 7 ms; last output:\nthe end");

  auto not_started =
      test_answer(run(), {std::nullopt, false, "", false,
                          "spawn " + script_ + ": Exec format error", Milliseconds(0)});
  ASSERT_FALSE(not_started);
  EXPECT_EQ(not_started.error().code, make_error_code(errc::failed));
  EXPECT_EQ(not_started.error().message,
            "test " + script_ + ": could not start: spawn " + script_ + ": Exec format error");
}

TEST(TestRunPassedTest, OnlyAnExitZeroInTimePasses) {
  EXPECT_TRUE(passed({supervisor::ExitStatus::exited(0), false, "", false, "", {}}));
  EXPECT_FALSE(passed({supervisor::ExitStatus::exited(0), true, "", false, "", {}}));
  EXPECT_FALSE(passed({supervisor::ExitStatus::exited(1), false, "", false, "", {}}));
  EXPECT_FALSE(passed({supervisor::ExitStatus::killed(0), false, "", false, "", {}}));
  EXPECT_FALSE(passed({std::nullopt, false, "", false, "no such file", {}}));
}

}  // namespace
}  // namespace cservice::commands
