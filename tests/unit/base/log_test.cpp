// Access keys are masked in every log line, whatever path brought them there.

#include "base/log.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace cservice::log
