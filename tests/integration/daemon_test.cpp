// Daemon mode: `cservice --daemon` (or the name cserviced) detaches, writes a pid file, keeps all
// output in a log file, and the starting command's exit status tells whether it came up.

#include "integration_test.hpp"

#include <csignal>
#include <filesystem>
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

}  // namespace
}  // namespace cservice::testing
