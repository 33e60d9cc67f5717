#include "commands/answer_table.hpp"

#include <gtest/gtest.h>

namespace cservice::commands {
namespace {

using nlohmann::json;

TEST(AnswerTableTest, HumanUnits) {
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(12.3 * 1024 * 1024), "12.3 MiB");
  EXPECT_EQ(human_bytes(1.5 * 1024), "1.5 KiB");
  EXPECT_EQ(human_bytes(2.0 * 1024 * 1024 * 1024), "2.0 GiB");
  EXPECT_EQ(human_duration(0.44), "0.4 s");
  EXPECT_EQ(human_duration(12.34), "12.3 s");
  EXPECT_EQ(human_duration(245), "4m 05s");
  EXPECT_EQ(human_duration(2 * 3600 + 3 * 60 + 59), "2h 03m");
  EXPECT_EQ(human_duration(3 * 86400 + 4 * 3600), "3d 04h");
}

TEST(AnswerTableTest, WorkersAreAlignedRowsUnderAHeader) {
  const json result = {{"workers",
                        {{{"id", 0}, {"pid", 4242}, {"state", "ready"}, {"reason", "start"},
                          {"sinceMs", 10}, {"uptimeMs", 7380000}, {"restarts", 0},
                          {"program", "/srv/app/server"}},
                         {{"id", 1}, {"pid", 17}, {"state", "starting"}, {"reason", "failure"},
                          {"sinceMs", 10}, {"uptimeMs", 400}, {"restarts", 12},
                          {"program", "/srv/app/server"}}}}};
  const auto table = answer_table("workers", result, Colors::Off);
  ASSERT_TRUE(table);
  EXPECT_EQ(*table,
            "ID  PID   PROGRAM  STATE     REASON   UPTIME  RESTARTS\n"
            "0   4242  server   ready     start    2h 03m  0\n"
            "1   17    server   starting  failure  0.4 s   12\n");
}

TEST(AnswerTableTest, DetailsAddMemoryAndCpuAndSimpleKeepsThreeColumns) {
  const json details = {{"workers",
                         {{{"id", 0}, {"pid", 1}, {"state", "ready"}, {"rssBytes", 12897484},
                           {"cpuSeconds", 0.42}}}}};
  EXPECT_EQ(*answer_table("workers", details, Colors::Off),
            "ID  PID  STATE  MEMORY    CPU\n"
            "0   1    ready  12.3 MiB  0.4 s\n");
  const json simple = {{"workers", {{{"id", 0}, {"pid", nullptr}, {"state", "exited"}}}}};
  EXPECT_EQ(*answer_table("workers", simple, Colors::Off),
            "ID  PID  STATE\n"
            "0   -    exited\n");
}

TEST(AnswerTableTest, StatesAreColouredAndPaddingStaysOutsideTheColour) {
  const json result = {{"workers",
                        {{{"id", 0}, {"state", "ready"}},
                         {{"id", 1}, {"state", "stopping"}},
                         {{"id", 2}, {"state", "starting"}, {"crashLoop", true}},
                         {{"id", 3}, {"state", "starting"}}}}};
  const auto table = answer_table("workers", result, Colors::On);
  ASSERT_TRUE(table);
  EXPECT_NE(table->find("\x1b[1mID\x1b[0m  \x1b[1mSTATE\x1b[0m\n"), std::string::npos) << *table;
  EXPECT_NE(table->find("\x1b[32mready\x1b[0m\n"), std::string::npos) << *table;
  EXPECT_NE(table->find("\x1b[31mstopping\x1b[0m\n"), std::string::npos) << *table;
  EXPECT_NE(table->find("\x1b[31mcrash-loop\x1b[0m\n"), std::string::npos) << *table;
  EXPECT_NE(table->find("\x1b[33mstarting\x1b[0m\n"), std::string::npos) << *table;
  EXPECT_EQ(answer_table("workers", result, Colors::Off)->find('\x1b'), std::string::npos);
}

TEST(AnswerTableTest, AReplacementIsARowAndAMixedFleetShowsWholePaths) {
  const json result = {
      {"workers",
       {{{"id", 0}, {"pid", 10}, {"state", "ready"}, {"program", "/srv/v1/server"},
         {"incoming", {{"pid", 11}, {"state", "starting"}, {"program", "/srv/v2/server"}}}}}}};
  EXPECT_EQ(*answer_table("workers", result, Colors::Off),
            "ID  PID  PROGRAM         STATE\n"
            "0   10   /srv/v1/server  ready\n"
            "0+  11   /srv/v2/server  starting\n");
}

TEST(AnswerTableTest, CellsCannotSendEscapesToTheTerminal) {
  const json result = {{"workers",
                        {{{"id", 0}, {"state", "ready"}, {"status", "\x1b]0;owned\x07 hi"}}}}};
  const auto table = answer_table("workers", result, Colors::Off);
  ASSERT_TRUE(table);
  EXPECT_EQ(table->find('\x1b'), std::string::npos) << *table;
  EXPECT_NE(table->find("\\x1b]0;owned\\x07 hi"), std::string::npos) << *table;
}

TEST(AnswerTableTest, InfoAndHealthAreNamesAndValues) {
  const json info = {{"pid", 100},
                     {"version", "1.0.0"},
                     {"program", "/srv/app/server"},
                     {"args", {"--port", "8080"}},
                     {"uptimeMs", 245000},
                     {"workerCount", 2},
                     {"workersByState", {{"ready", 2}}},
                     {"restarts", 3},
                     {"extra", true}};
  EXPECT_EQ(*answer_table("info", info, Colors::Off),
            "pid             100\n"
            "version         1.0.0\n"
            "program         /srv/app/server\n"
            "args            --port 8080\n"
            "uptime          4m 05s\n"
            "workerCount     2\n"
            "workersByState  ready 2\n"
            "restarts        3\n"
            "extra           true\n");
  const json health = {{"health", "crash-loop"}, {"reason", "worker 1 failed 11 times"}};
  EXPECT_EQ(*answer_table("health", health, Colors::On),
            "health  \x1b[31mcrash-loop\x1b[0m\n"
            "reason  worker 1 failed 11 times\n");
}

TEST(AnswerTableTest, OtherCommandsAndOtherShapesHaveNoTable) {
  EXPECT_FALSE(answer_table("version", json{{"version", "1"}}, Colors::Off));
  EXPECT_FALSE(answer_table("workers", json("a text"), Colors::Off));
  EXPECT_FALSE(answer_table("workers", json{{"workers", {1, 2}}}, Colors::Off));
  EXPECT_FALSE(answer_table("health", json{{"health", 1}}, Colors::Off));
  EXPECT_FALSE(answer_table("info", json::array(), Colors::Off));
}

TEST(AnswerTableTest, ColoursFollowTheChoiceTheTerminalAndTheEnvironment) {
  EXPECT_EQ(colors_for(ColorChoice::Auto, true, nullptr, "xterm"), Colors::On);
  EXPECT_EQ(colors_for(ColorChoice::Auto, false, nullptr, "xterm"), Colors::Off);
  EXPECT_EQ(colors_for(ColorChoice::Auto, true, "1", "xterm"), Colors::Off);
  EXPECT_EQ(colors_for(ColorChoice::Auto, true, "", "xterm"), Colors::On);  // empty: unset
  EXPECT_EQ(colors_for(ColorChoice::Auto, true, nullptr, "dumb"), Colors::Off);
  EXPECT_EQ(colors_for(ColorChoice::Always, false, "1", "dumb"), Colors::On);
  EXPECT_EQ(colors_for(ColorChoice::Never, true, nullptr, "xterm"), Colors::Off);
}

}  // namespace
}  // namespace cservice::commands
