// Daemon mode: `cservice --daemon` (or the name cserviced) detaches, writes a pid file, keeps all
// output in a log file, and the starting command's exit status tells whether it came up. Its
// files are opened with care: the tests run as root in CI, where a daemon that followed a
// planted link would truncate or append to a file only root may write.

#include "integration_test.hpp"

#include <csignal>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <fstream>
#include <sstream>

namespace cservice::testing {
namespace {

class DaemonTest : public IntegrationTest {
 protected:
  std::string read(const std::string& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }
  // A file only its owner (root, in CI) may write, that no daemon may touch.
  std::string precious_file() {
    const std::string path = write_file("precious", "precious\n", /*executable=*/false);
    ::chmod(path.c_str(), 0600);
    return path;
  }
  // Starts a daemon with these files; expects it refused with exit status 2 and `message` (a
  // plain substring) in what the starting command printed.
  void expect_refused(const std::string& pid_file, const std::string& log_file,
                      const std::string& message) {
    auto& starter = start({"--daemon", "--pid-file", pid_file, "--log-file", log_file,
                           test_worker_binary()});
    ASSERT_EQ(starter.wait_exit(10s), 2) << starter.output();
    EXPECT_NE(starter.output().find(message), std::string::npos)
        << "'" << message << "' not in: " << starter.output();
  }
  // Starts a daemon and waits until it is up; its pid.
  pid_t start_daemon(const std::string& pid_file, const std::string& log_file) {
    auto& starter = start({"--daemon", "--pid-file", pid_file, "--log-file", log_file,
                           test_worker_binary()});
    EXPECT_EQ(starter.wait_exit(10s), 0) << starter.output();
    const auto running =
        starter.wait_for(R"(running in the background: pid (\d+))", 1s, "the report");
    return running ? std::stoi((*running)[1]) : -1;
  }
  void stop_daemon(pid_t daemon) {
    ASSERT_EQ(::kill(daemon, SIGTERM), 0);
    EXPECT_TRUE(wait_until([&] { return is_dead(daemon); }, 10s)) << "daemon " << daemon;
  }
};

TEST_F(DaemonTest, DetachesWritesPidFileAndKeepsOutputInTheLog) {
  const std::string pid_file = temp_dir() + "/service.pid";
  const std::string log_file = temp_dir() + "/service.log";
  auto& starter = start({"--daemon", "--pid-file", pid_file, "--log-file", log_file, "--workers",
                         "2", "--ready", "notify", test_worker_binary(), "--", "--ready-after", "0",
                         "--print-env"});
  ASSERT_EQ(starter.wait_exit(10s), 0) << starter.output();
  const auto running = starter.wait_for(R"(running in the background: pid (\d+))", 1s, "the report");
  ASSERT_TRUE(running);
  const pid_t daemon = std::stoi((*running)[1]);
  EXPECT_EQ(std::stoi(read(pid_file)), daemon);
  EXPECT_FALSE(is_dead(daemon));
  // The master's lines and the workers' relayed output are in the log.
  EXPECT_TRUE(wait_until([&] {
    const std::string log = read(log_file);
    return log.find("worker 2 pid") != std::string::npos &&
           log.find("worker 1[") != std::string::npos && log.find("starting -> ready") != std::string::npos;
  }, 10s)) << read(log_file);

  ASSERT_EQ(::kill(daemon, SIGTERM), 0);
  EXPECT_TRUE(wait_until([&] { return is_dead(daemon); }, 10s));
  EXPECT_FALSE(std::filesystem::exists(pid_file)) << "the pid file outlived the daemon";
  EXPECT_NE(read(log_file).find("all workers stopped"), std::string::npos);
}

TEST_F(DaemonTest, StartFailureReachesTheStartingCommand) {
  const std::string log_file = temp_dir() + "/service.log";
  // A listen address that cannot be bound: the daemon fails after detaching, and says so.
  auto& starter = start({"--daemon", "--pid-file", temp_dir() + "/p.pid", "--log-file", log_file,
                         "--listen", "unix:/nonexistent-dir/x.sock", test_worker_binary()});
  ASSERT_EQ(starter.wait_exit(10s), 2) << starter.output();
  EXPECT_TRUE(starter.wait_for("listen unix:/nonexistent-dir/x.sock: No such file or directory", 1s,
                               "the daemon's error, printed by the starting command"));
  EXPECT_FALSE(std::filesystem::exists(temp_dir() + "/p.pid"));
}

TEST_F(DaemonTest, ASymlinkedPidFileIsRefusedAndItsTargetLeftAlone) {
  const std::string target = precious_file();
  const std::string pid_file = temp_dir() + "/service.pid";
  std::filesystem::create_symlink(target, pid_file);
  expect_refused(pid_file, temp_dir() + "/service.log",
                 "pid file " + pid_file + ": is a symbolic link; refusing to follow it");
  EXPECT_EQ(read(target), "precious\n");
  EXPECT_TRUE(std::filesystem::is_symlink(pid_file));
}

TEST_F(DaemonTest, ASymlinkedLogFileIsRefusedAndItsTargetLeftAlone) {
  const std::string target = precious_file();
  const std::string log_file = temp_dir() + "/service.log";
  std::filesystem::create_symlink(target, log_file);
  expect_refused(temp_dir() + "/service.pid", log_file,
                 "log file " + log_file + ": is a symbolic link; refusing to follow it");
  EXPECT_EQ(read(target), "precious\n");
  EXPECT_FALSE(std::filesystem::exists(temp_dir() + "/service.pid"));
}

TEST_F(DaemonTest, AHardLinkedPidFileIsRefused) {
  const std::string target = precious_file();
  const std::string pid_file = temp_dir() + "/service.pid";
  std::filesystem::create_hard_link(target, pid_file);
  expect_refused(pid_file, temp_dir() + "/service.log",
                 "pid file " + pid_file + ": has 2 hard links");
  EXPECT_EQ(read(target), "precious\n");
}

TEST_F(DaemonTest, ADirectoryOthersMayWriteToIsRefusedUnlessSticky) {
  const std::string shared = temp_dir() + "/shared";
  std::filesystem::create_directory(shared);
  ASSERT_EQ(::chmod(shared.c_str(), 0777), 0);
  expect_refused(shared + "/service.pid", temp_dir() + "/service.log",
                 shared + " is writable by other users and not sticky");
  EXPECT_FALSE(std::filesystem::exists(shared + "/service.pid"));
}

// Another user who owns a directory on the way could re-point it (rename it, plant a link in
// it) after the checks; a file others may write could be forged or erased.
TEST_F(DaemonTest, ADirectoryOfAnotherUserOrAFileOthersMayWriteIsRefused) {
  const std::string log_file = temp_dir() + "/service.log";
  std::ofstream(log_file) << "precious\n";
  ASSERT_EQ(::chmod(log_file.c_str(), 0666), 0);
  expect_refused(temp_dir() + "/service.pid", log_file,
                 "log file " + log_file + " is writable by other users (mode 0666");
  EXPECT_EQ(read(log_file), "precious\n");
  if (::geteuid() != 0) return;  // giving a directory away needs root
  const std::string theirs = temp_dir() + "/theirs";
  std::filesystem::create_directories(theirs + "/run");
  ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
  expect_refused(theirs + "/run/service.pid", temp_dir() + "/other.log",
                 theirs + " is owned by uid 65534");
  EXPECT_FALSE(std::filesystem::exists(theirs + "/run/service.pid"));
}

TEST_F(DaemonTest, AFileOfAnotherUserInAStickySharedDirectoryIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to give a file to another user";
  const std::string shared = temp_dir() + "/tmp";
  std::filesystem::create_directory(shared);
  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);
  const std::string pid_file = shared + "/service.pid";
  std::ofstream(pid_file) << "12345\n";
  ASSERT_EQ(::chown(pid_file.c_str(), 65534, 65534), 0);
  // Refused by our check, or by the kernel's where fs.protected_regular is set.
  expect_refused(pid_file, temp_dir() + "/service.log",
                 "pid file " + pid_file + " is owned by uid 65534");
  EXPECT_EQ(read(pid_file), "12345\n");
}

TEST_F(DaemonTest, ASecondDaemonOnTheSamePidFileIsRefused) {
  const std::string pid_file = temp_dir() + "/service.pid";
  const pid_t daemon = start_daemon(pid_file, temp_dir() + "/first.log");
  ASSERT_GT(daemon, 0);
  expect_refused(pid_file, temp_dir() + "/second.log",
                 "another cservice (pid " + std::to_string(daemon) + ") holds " + pid_file);
  EXPECT_EQ(read(pid_file), std::to_string(daemon) + "\n");
  EXPECT_FALSE(is_dead(daemon));
  EXPECT_FALSE(std::filesystem::exists(temp_dir() + "/second.log"));
  stop_daemon(daemon);
  EXPECT_FALSE(std::filesystem::exists(pid_file));
}

TEST_F(DaemonTest, APidFileLeftByADeadDaemonIsTakenOver) {
  const std::string pid_file = temp_dir() + "/service.pid";
  const std::string log_file = temp_dir() + "/service.log";
  std::ofstream(pid_file) << "4194304\n";  // past any pid_max: nobody's
  const pid_t daemon = start_daemon(pid_file, log_file);
  ASSERT_GT(daemon, 0);
  EXPECT_EQ(read(pid_file), std::to_string(daemon) + "\n");
  EXPECT_NE(read(log_file).find("pid file " + pid_file + ": taken over from pid 4194304"),
            std::string::npos)
      << read(log_file);
  stop_daemon(daemon);
}

}  // namespace
}  // namespace cservice::testing
