#include "os/safe_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "temp_dir.hpp"

namespace cservice::os {
namespace {

namespace fs = std::filesystem;

class SafeFileTest : public TempDirTest {
 protected:
  static Result<SafeFile> open_log(const std::string& path) {
    return SafeFile::open("log file", path, O_WRONLY | O_APPEND, FileKinds::Any);
  }
};

TEST_F(SafeFileTest, CreatesAMissingFileAndAppendsToAnExistingOneWithoutTruncating) {
  auto created = open_log(path("new.log"));
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_TRUE(fs::is_regular_file(path("new.log")));

  write(path("old.log"), "earlier\n");
  auto old = open_log(path("old.log"));
  ASSERT_TRUE(old) << old.error().message;
  ASSERT_EQ(::write(old->fd.get(), "later\n", 6), 6);
  EXPECT_EQ(read(path("old.log")), "earlier\nlater\n");
  EXPECT_EQ(::fcntl(old->fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_EQ(::fcntl(old->fd.get(), F_GETFL) & O_NONBLOCK, 0);
}

TEST_F(SafeFileTest, RefusesASymbolicLinkAndLeavesItsTargetAlone) {
  write(path("precious"), "precious\n");
  fs::create_symlink(path("precious"), path("service.log"));
  auto opened = open_log(path("service.log"));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().message,
            "log file " + path("service.log") + ": is a symbolic link; refusing to follow it");
  EXPECT_EQ(read(path("precious")), "precious\n");
}

TEST_F(SafeFileTest, RefusesAFileWithAnotherHardLink) {
  write(path("precious"), "precious\n");
  fs::create_hard_link(path("precious"), path("service.log"));
  auto opened = open_log(path("service.log"));
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("has 2 hard links"), std::string::npos)
      << opened.error().message;
}

TEST_F(SafeFileTest, RefusesADirectoryOthersMayWriteToUnlessItIsSticky) {
  fs::create_directory(path("shared"));
  ASSERT_EQ(::chmod(path("shared").c_str(), 0777), 0);
  auto opened = open_log(path("shared/service.log"));
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("is writable by other users and not sticky"), std::string::npos)
      << opened.error().message;
  EXPECT_FALSE(fs::exists(path("shared/service.log")));

  ASSERT_EQ(::chmod(path("shared").c_str(), 01777), 0);
  EXPECT_TRUE(open_log(path("shared/service.log")));
}

TEST_F(SafeFileTest, RefusesAFileOfAnotherUserInAStickySharedDirectory) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to give a file to another user";
  fs::create_directory(path("tmp"));
  ASSERT_EQ(::chmod(path("tmp").c_str(), 01777), 0);
  write(path("tmp/service.log"), "someone else's\n");
  ASSERT_EQ(::chown(path("tmp/service.log").c_str(), 65534, 65534), 0);
  auto opened = open_log(path("tmp/service.log"));
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("owned by uid 65534"), std::string::npos)
      << opened.error().message;
  EXPECT_EQ(read(path("tmp/service.log")), "someone else's\n");
}

TEST_F(SafeFileTest, TakesOnlyRegularFilesUnlessTold) {
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  auto regular = SafeFile::open("pid file", path("fifo"), O_RDWR, FileKinds::RegularOnly);
  ASSERT_FALSE(regular);
  EXPECT_EQ(regular.error().message, "pid file " + path("fifo") + ": not a regular file");
  // A FIFO nobody reads is an error, not a hang.
  auto fifo = open_log(path("fifo"));
  ASSERT_FALSE(fifo);
  EXPECT_EQ(fifo.error().code, std::errc::no_such_device_or_address);
  EXPECT_TRUE(open_log("/dev/null"));
}

TEST_F(SafeFileTest, ARelativePathIsInTheWorkingDirectory) {
  const auto cwd = fs::current_path();
  fs::current_path(dir_);
  auto opened = open_log("relative.log");
  fs::current_path(cwd);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_TRUE(fs::exists(path("relative.log")));
  EXPECT_TRUE(opened->is_still_at_its_name());
}

}  // namespace
}  // namespace cservice::os
