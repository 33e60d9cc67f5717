// Release directories: a path is resolved through every link, and one that cannot be is named
// with where it leads, so an operator sees which release is missing.

#include "os/real_path.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace cservice::os {
namespace {

namespace fs = std::filesystem;

class RealPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "cservice-real-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = fs::canonical(pattern).string();  // the temp directory may itself be behind a link
    fs::create_directories(dir_ + "/releases/v1");
    std::ofstream(dir_ + "/releases/v1/server-1.0") << "#!/bin/sh\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(RealPathTest, LinksInDirectoriesAndTheLastComponentAreResolved) {
  fs::create_directory_symlink("releases/v1", dir_ + "/current");
  fs::create_symlink("server-1.0", dir_ + "/releases/v1/server");
  const auto resolved = real_path("program", dir_ + "/current/server");
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(*resolved, dir_ + "/releases/v1/server-1.0");
  EXPECT_EQ(real_path("cwd", dir_ + "/current/.").value(), dir_ + "/releases/v1");
  // ".." after a link is the parent of where the link leads, as the kernel has it.
  EXPECT_EQ(real_path("cwd", dir_ + "/current/..").value(), dir_ + "/releases");
}

TEST_F(RealPathTest, ADanglingLinkIsAnErrorNamingWhereItLeads) {
  fs::create_directory_symlink("releases/v9", dir_ + "/current");
  const auto resolved = real_path("upgrade: program", dir_ + "/current/server");
  ASSERT_FALSE(resolved);
  EXPECT_EQ(resolved.error().code, std::errc::no_such_file_or_directory);
  EXPECT_EQ(resolved.error().message, "upgrade: program " + dir_ + "/current/server is " + dir_ +
                                          "/releases/v9/server: No such file or directory");
}

TEST_F(RealPathTest, FollowedPathFollowsDanglingLinksRelativeAndAbsolute) {
  fs::create_directory_symlink(dir_ + "/releases/v2", dir_ + "/next");  // absolute, missing
  fs::create_directory_symlink("next", dir_ + "/current");              // relative, to a link
  EXPECT_EQ(followed_path(dir_ + "/current/bin/server"), dir_ + "/releases/v2/bin/server");
  EXPECT_EQ(followed_path(dir_ + "/current"), dir_ + "/releases/v2");
  EXPECT_EQ(followed_path(dir_ + "/missing/server"), dir_ + "/missing/server")
      << "no link: the path as written";
  fs::create_symlink("loop", dir_ + "/loop");
  EXPECT_EQ(followed_path(dir_ + "/loop"), dir_ + "/loop") << "a loop of links ends";
}

TEST(PathAndTargetTest, NamesBothOnlyWhenTheyDiffer) {
  EXPECT_EQ(path_and_target("/srv/app/server", "/srv/app/server"), "/srv/app/server");
  EXPECT_EQ(path_and_target("/srv/current/server", "/srv/releases/v2/server"),
            "/srv/current/server is /srv/releases/v2/server");
}

}  // namespace
}  // namespace cservice::os
