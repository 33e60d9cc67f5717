#include "commands/directory.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace cservice::commands {
namespace {

namespace fs = std::filesystem;

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "cservice-cmd-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text, bool executable) {
    std::ofstream(dir_ + "/" + name) << text;
    fs::permissions(dir_ + "/" + name, executable ? fs::perms::owner_all : fs::perms::owner_read);
  }
  std::string dir_;
};

TEST_F(DirectoryTest, ExecutablesBecomeCommandsNamedAfterThemWithTheirHelp) {
  write("disk-usage.sh", "#!/bin/sh\n", true);
  write("disk-usage.help", "disk-usage [path]\nHow full the disks are.\nSecond line.\n", false);
  write("plain", "#!/bin/sh\n", true);
  write("readme.txt", "not a command\n", false);
  write(".hidden", "#!/bin/sh\n", true);
  fs::create_directory(dir_ + "/subdir");
  auto found = scan_command_directories({dir_});
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].name, "disk-usage");
  EXPECT_EQ((*found)[0].path, dir_ + "/disk-usage.sh");
  EXPECT_EQ((*found)[0].usage, "disk-usage [path]");
  EXPECT_EQ((*found)[0].description, "How full the disks are.\nSecond line.");
  EXPECT_EQ((*found)[1].name, "plain");
  EXPECT_EQ((*found)[1].usage, "plain [args...]");
}

TEST_F(DirectoryTest, ClashesAndBadNamesAreErrors) {
  write("twice.sh", "#!/bin/sh\n", true);
  write("twice.py", "#!/bin/sh\n", true);
  auto clash = scan_command_directories({dir_});
  ASSERT_FALSE(clash);
  EXPECT_NE(clash.error().message.find("would both be command 'twice'"), std::string::npos);
  fs::remove(dir_ + "/twice.py");
  write("two words.sh", "#!/bin/sh\n", true);
  auto bad = scan_command_directories({dir_});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'two words.sh' is not a usable command name"),
            std::string::npos);
  auto missing = scan_command_directories({dir_ + "/nope"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message.rfind("commands directory " + dir_ + "/nope: ", 0), 0u);
}

TEST(InterpretOutcomeTest, JsonTextFailureAndTimeOut) {
  const Milliseconds timeout(500);
  const auto ok = [&](ProgramOutcome o) { return interpret_outcome("c", timeout, o); };
  EXPECT_EQ(*ok({supervisor::ExitStatus::exited(0), false, " {\"a\": 1}\n", "", ""}),
            (nlohmann::json{{"a", 1}}));
  EXPECT_EQ(*ok({supervisor::ExitStatus::exited(0), false, "hello there\n", "", ""}),
            nlohmann::json("hello there"));
  EXPECT_EQ(*ok({supervisor::ExitStatus::exited(0), false, "", "", ""}), nlohmann::json(""));

  auto failed = ok({supervisor::ExitStatus::exited(2), false, "partial", "no such disk\n", ""});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "c: failed (exit 2): no such disk");
  auto quiet = ok({supervisor::ExitStatus::exited(1), false, "", "", ""});
  EXPECT_EQ(quiet.error().message, "c: failed (exit 1)");
  auto killed = ok({supervisor::ExitStatus::killed(9), true, "", "", ""});
  ASSERT_FALSE(killed);
  EXPECT_EQ(killed.error().code, make_error_code(errc::timed_out));
  EXPECT_EQ(killed.error().message, "c: no answer within 500 ms (killed)");
  ProgramOutcome flood{supervisor::ExitStatus::exited(0), false, std::string(64, 'x'), "", ""};
  flood.truncated = true;
  EXPECT_EQ(ok(flood).error().message, "c: printed more than 64 bytes");
  auto unstarted = ok({std::nullopt, false, "", "", "spawn /x: Permission denied"});
  EXPECT_EQ(unstarted.error().message, "c: spawn /x: Permission denied");
}

}  // namespace
}  // namespace cservice::commands
