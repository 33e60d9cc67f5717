// Release directories: the program and cwd that upgrade, start and test are given are resolved
// through every link when the command runs, so the workers keep that release when a deploy
// re-points `current`; a link that leads nowhere usable is a bad request naming both paths.

#include "commands/registry.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace cservice::commands {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ProgramPathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "cservice-release-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = fs::canonical(pattern).string();
    for (const char* release : {"v1", "v2"}) {
      const std::string server = dir_ + "/releases/" + release + "/server";
      fs::create_directories(fs::path(server).parent_path());
      std::ofstream(server) << "#!/bin/sh\n";
      fs::permissions(server, fs::perms::owner_all);
    }
    point_current_at("releases/v1");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // As a deploy tool does: a new link renamed over the old one.
  void point_current_at(const std::string& target) const {
    fs::create_directory_symlink(target, dir_ + "/current.new");
    fs::rename(dir_ + "/current.new", dir_ + "/current");
  }

  std::string dir_;
};

TEST_F(ProgramPathsTest, TheProgramIsTheReleaseTheLinkLeadsToWhenChosen) {
  EXPECT_EQ(checked_program("upgrade", json(dir_ + "/current/server")).value(),
            dir_ + "/releases/v1/server");
  point_current_at("releases/v2");
  EXPECT_EQ(checked_program("upgrade", json(dir_ + "/current/./server")).value(),
            dir_ + "/releases/v2/server");
}

TEST_F(ProgramPathsTest, TheCwdIsTheReleaseTheLinkLeadsToWhenChosen) {
  supervisor::ProgramSpec spec{dir_ + "/releases/v1/server", {}, ""};
  ASSERT_TRUE(apply_program_options("upgrade", json({{"cwd", dir_ + "/current"}}), spec));
  EXPECT_EQ(spec.cwd, dir_ + "/releases/v1");
  // An empty cwd would move the workers out of their release without a word: refused.
  auto empty = apply_program_options("upgrade", json({{"cwd", ""}}), spec);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message,
            "upgrade: cwd must be a directory, got \"\" (leave it out for the program's current one)");
  EXPECT_EQ(spec.cwd, dir_ + "/releases/v1");
}

TEST_F(ProgramPathsTest, ALinkToNothingUsableIsABadRequestNamingBothPaths) {
  point_current_at("releases/v9");
  const auto dangling = checked_program("upgrade", json(dir_ + "/current/server"));
  ASSERT_FALSE(dangling);
  EXPECT_EQ(dangling.error().code, make_error_code(errc::bad_request));
  EXPECT_EQ(dangling.error().message, "upgrade: program " + dir_ + "/current/server is " + dir_ +
                                          "/releases/v9/server: No such file or directory");
  supervisor::ProgramSpec spec{dir_ + "/releases/v1/server", {}, dir_ + "/releases/v1"};
  EXPECT_EQ(
      apply_program_options("start", json({{"cwd", dir_ + "/current"}}), spec).error().message,
      "start: cwd " + dir_ + "/current is " + dir_ + "/releases/v9: does not exist");
  EXPECT_EQ(spec.cwd, dir_ + "/releases/v1") << "nothing changes";

  fs::create_directory_symlink("releases/v1", dir_ + "/server-dir");
  EXPECT_EQ(checked_program("upgrade", json(dir_ + "/server-dir")).error().message,
            "upgrade: program " + dir_ + "/server-dir is " + dir_ + "/releases/v1: is a directory");
  std::ofstream(dir_ + "/releases/v1/notes.txt") << "text\n";
  fs::create_symlink("releases/v1/notes.txt", dir_ + "/notes");
  EXPECT_EQ(
      checked_program("start", json(dir_ + "/notes")).error().message,
      "start: program " + dir_ + "/notes is " + dir_ + "/releases/v1/notes.txt: Permission denied");
  fs::create_symlink("releases/v1/server", dir_ + "/cwd-file");
  EXPECT_EQ(
      apply_program_options("start", json({{"cwd", dir_ + "/cwd-file"}}), spec).error().message,
      "start: cwd " + dir_ + "/cwd-file is " + dir_ + "/releases/v1/server is not a directory");
}

}  // namespace
}  // namespace cservice::commands
