// Paths another user could re-point are refused: a directory (or one above it) writable by
// others and not sticky, one owned by another user, a file others may write.

#include "os/trusted_path.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace cservice::os {
namespace {

namespace fs = std::filesystem;

class TrustedPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "cservice-trust-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = fs::canonical(pattern).string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(TrustedPathTest, ADirectoryOfOursBelowTrustedOnesIsTrustedAndCanonical) {
  fs::create_directories(dir_ + "/app/commands");
  fs::create_directory_symlink(dir_ + "/app", dir_ + "/link");
  const auto trusted = trusted_directory("commands directory", dir_ + "/link/commands");
  ASSERT_TRUE(trusted) << trusted.error().message;
  EXPECT_EQ(*trusted, dir_ + "/app/commands");
  EXPECT_TRUE(trusted_directory("commands directory", "/tmp"))  // sticky
      << "sticky /tmp";
}

TEST_F(TrustedPathTest, ADirectoryOthersCanWriteOnThePathIsRefused) {
  fs::create_directories(dir_ + "/shared/app/commands");
  fs::permissions(dir_ + "/shared", fs::perms::owner_all | fs::perms::others_write);
  const auto refused = trusted_directory("commands directory", dir_ + "/shared/app/commands");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "commands directory " + dir_ + "/shared/app/commands: " + dir_ +
                "/shared is writable by other users and not sticky (mode 0702): refused, as "
                "they could replace what it holds (chmod go-w)");
  fs::permissions(dir_ + "/shared", fs::perms::sticky_bit, fs::perm_options::add);
  EXPECT_TRUE(trusted_directory("commands directory", dir_ + "/shared/app/commands"));
  EXPECT_FALSE(trusted_directory("commands directory", dir_ + "/missing"));
}

TEST_F(TrustedPathTest, ADirectoryOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  fs::create_directories(dir_ + "/theirs/commands");
  ASSERT_EQ(::chown((dir_ + "/theirs").c_str(), 65534, 65534), 0);
  const auto refused = trusted_directory("commands directory", dir_ + "/theirs/commands");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("/theirs is owned by uid 65534"), std::string::npos)
      << refused.error().message;
}

TEST(NotWritableByOthersTest, OwnersAndModes) {
  const unsigned me = ::geteuid();
  const unsigned group = ::getegid();
  EXPECT_TRUE(check_not_writable_by_others("command", "c", S_IFREG | 0755, me, group));
  EXPECT_TRUE(check_not_writable_by_others("command", "c", S_IFREG | 0775, me, group));
  EXPECT_FALSE(check_not_writable_by_others("command", "c", S_IFREG | 0757, me, group));
  EXPECT_FALSE(check_not_writable_by_others("command", "c", S_IFREG | 0775, me, 12345));
  const auto refused = check_not_writable_by_others("log file", "l", S_IFREG | 0666, 0, 0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "log file l is writable by other users (mode 0666, group 0): refused, as they could "
            "change it (chmod go-w)");
  if (me == 0) {
    EXPECT_FALSE(check_not_writable_by_others("command", "c", S_IFREG | 0755, 65534, 0));
  }
}

}  // namespace
}  // namespace cservice::os
