#include "os/pid_file.hpp"

#include <unistd.h>

#include <filesystem>

#include "temp_dir.hpp"

namespace cservice::os {
namespace {

namespace fs = std::filesystem;

using PidFileTest = TempDirTest;

TEST_F(PidFileTest, HoldsThePidAndIsRemovedAtTheEnd) {
  {
    auto claimed = PidFile::claim(path("service.pid"));
    ASSERT_TRUE(claimed) << claimed.error().message;
    EXPECT_EQ(read(path("service.pid")), std::to_string(::getpid()) + "\n");
    EXPECT_FALSE(claimed->stale_pid());
  }
  EXPECT_FALSE(fs::exists(path("service.pid")));
}

TEST_F(PidFileTest, ASecondClaimIsRefusedNamingTheHolderAndChangesNothing) {
  auto first = PidFile::claim(path("service.pid"));
  ASSERT_TRUE(first) << first.error().message;
  auto second = PidFile::claim(path("service.pid"));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, make_error_code(errc::busy));
  EXPECT_EQ(second.error().message, "another cservice (pid " + std::to_string(::getpid()) +
                                        ") holds " + path("service.pid"));
  EXPECT_EQ(read(path("service.pid")), std::to_string(::getpid()) + "\n");
}

TEST_F(PidFileTest, AFileLeftByADeadDaemonIsTakenOver) {
  write(path("service.pid"), "424242\n");
  auto claimed = PidFile::claim(path("service.pid"));
  ASSERT_TRUE(claimed) << claimed.error().message;
  EXPECT_EQ(claimed->stale_pid(), Pid{424242});
  EXPECT_EQ(read(path("service.pid")), std::to_string(::getpid()) + "\n");
}

TEST_F(PidFileTest, ASymbolicLinkIsRefused) {
  write(path("precious"), "precious\n");
  fs::create_symlink(path("precious"), path("service.pid"));
  auto claimed = PidFile::claim(path("service.pid"));
  ASSERT_FALSE(claimed);
  EXPECT_NE(claimed.error().message.find("is a symbolic link"), std::string::npos);
  EXPECT_EQ(read(path("precious")), "precious\n");
}

TEST_F(PidFileTest, AFileRenamedOverItIsNotRemoved) {
  {
    auto claimed = PidFile::claim(path("service.pid"));
    ASSERT_TRUE(claimed) << claimed.error().message;
    write(path("other"), "other\n");
    fs::rename(path("other"), path("service.pid"));
  }
  EXPECT_EQ(read(path("service.pid")), "other\n");
}

}  // namespace
}  // namespace cservice::os
