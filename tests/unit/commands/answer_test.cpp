#include "commands/answer.hpp"

#include <gtest/gtest.h>

namespace cservice::commands {
namespace {

TEST(AnswerTest, EachErrorHasOneStatus) {
  EXPECT_EQ(answer_of(make_error(errc::bad_request, "x")).status, 400);
  EXPECT_EQ(answer_of(make_error(errc::busy, "x")).status, 409);
  EXPECT_EQ(answer_of(make_error(errc::failed, "x")).status, 500);
  EXPECT_EQ(answer_of(make_error(errc::not_found, "x")).status, 404);
  EXPECT_EQ(answer_of(make_error(errc::internal, "x")).status, 500);
  EXPECT_EQ(answer_of(make_error(errc::timed_out, "x")).status, 504);
  EXPECT_EQ(answer_of(os_error("program", ENOENT)).status, 400);
  const Answer ok = answer_of(nlohmann::json{{"a", 1}});
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.result, nlohmann::json({{"a", 1}}));
  for (const int status : {400, 404, 409, 500, 504}) {
    EXPECT_EQ(answer_of(make_error(code_of_status(status), "x")).status, status);
  }
}

TEST(AnswerTest, ErrorTextsHaveNoTrailingNewline) {
  EXPECT_EQ(failure(500, "it broke\n").error, "it broke");
  EXPECT_EQ(failure(500, "two\nlines\r\n \t").error, "two\nlines");
  EXPECT_EQ(failure(500, "\n").error, "failed (no error text)");
  EXPECT_EQ(answer_of(make_error(errc::internal, "script: failed\n")).error, "script: failed");
}

TEST(AnswerTest, JsonFormRoundTrips) {
  const Answer ok{200, {{"pids", {1, 2}}}, {}};
  EXPECT_EQ(to_json(ok), nlohmann::json({{"status", 200}, {"result", {{"pids", {1, 2}}}}}));
  EXPECT_EQ(answer_from_json(to_json(ok)).result, ok.result);
  const Answer bad = failure(404, "unknown command 'x' (try help)");
  EXPECT_EQ(to_json(bad), nlohmann::json({{"status", 404}, {"error", "unknown command 'x' (try help)"}}));
  const Answer back = answer_from_json(to_json(bad));
  EXPECT_EQ(back.status, 404);
  EXPECT_EQ(back.error, bad.error);
  EXPECT_EQ(answer_from_json(nlohmann::json::array()).status, 500);
  EXPECT_EQ(answer_from_json({{"status", 401}}).error, "no error text");
}

}  // namespace
}  // namespace cservice::commands
