// Options on the real command line: --config, boolean flags with and without a value, a repeated
// flag, --help made from the option table.

#include "integration_test.hpp"

namespace cservice::testing {
namespace {

class OptionsTest : public IntegrationTest {};

constexpr auto kReadyLine = R"(worker \d+ pid \d+: starting -> ready)";

TEST_F(OptionsTest, ConfigFlagServesTheFileWithFlagsOnTopAndTheLastRepeatWins) {
  // The original's names: workers (the program), restartonFailure, cliEnabled.
  const std::string config = write_file(
      "service.conf",
      R"({"workers": ")" + test_worker_binary() +
          R"(", "workerCount": 1, "restartonFailure": true, "cliEnabled": true, "ready": "notify"})",
      false);
  auto& service = start({"--config", config, "-n", "1", "--workers", "2", "--cli=false", "--silent",
                         "--", "--ready-after", "20"});
  ASSERT_TRUE(service.wait_for_count(kReadyLine, 2, 10s, "2 workers ready (the last -n)"))
      << service.output();
  stop_gracefully(service);
}

TEST_F(OptionsTest, BareBooleanFlagIsFollowedByTheProgram) {
  auto& service = start({"--restartOnFailure", "--silent", "--cli", "no", "-n", "1", "--ready",
                         "notify", test_worker_binary(), "--", "--ready-after", "20"});
  ASSERT_TRUE(service.wait_for_count(kReadyLine, 1, 10s, "1 worker ready")) << service.output();
  stop_gracefully(service);
}

TEST_F(OptionsTest, HelpListsTheOptionsUnderEverySpelling) {
  auto& service = start({"--help"});
  ASSERT_EQ(service.wait_exit(10s), 0) << service.output();
  for (const char* text : {"--config FILE", "--restartonFailure", "--cliEnabled",
                           "-n, --worker-count, --workers, --workerCount N", "--ssl-key FILE",
                           "--url URL", R"(\[JSON: program, workers\])"}) {
    EXPECT_EQ(service.count(text), 1u) << text << " in:\n" << service.output();
  }
}

}  // namespace
}  // namespace cservice::testing
