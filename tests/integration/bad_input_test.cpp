// Every bad input at start-up: one clear error line naming the problem, exit status 2, and no
// worker started.

#include "integration_test.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cservice::testing {
namespace {

class BadInputTest : public IntegrationTest {
 protected:
  // Runs cservice with `args`; expects exit 2 and exactly one output line containing `expected`.
  void expect_refused(std::vector<std::string> args, const std::string& expected) {
    auto& service = start(std::move(args));
    ASSERT_EQ(service.wait_exit(10s), 2) << service.output();
    const auto lines = service.lines();
    ASSERT_EQ(lines.size(), 1u) << service.output();
    // An error line: plain before the options are read, stamped (time, level) once they are.
    const std::string raw = service.raw_lines()[0];
    EXPECT_TRUE(raw.starts_with("cservice: error: ") ||
                (raw.find(" error cservice: ") != std::string::npos && lines[0] != raw))
        << raw;
    EXPECT_NE(lines[0].find(expected), std::string::npos)
        << "'" << lines[0] << "' does not contain '" << expected << "'";
  }
};

TEST_F(BadInputTest, ProgramThatDoesNotExist) {
  expect_refused({temp_dir() + "/no-such-server"},
                 "program " + temp_dir() + "/no-such-server: No such file or directory");
}

TEST_F(BadInputTest, ProgramThatIsNotExecutable) {
  const std::string path = write_file("server.sh", "#!/bin/sh\n", /*executable=*/false);
  expect_refused({path}, "program " + path + ": not executable");
}

TEST_F(BadInputTest, UnknownFlag) {
  expect_refused({"--wrokers", "2", test_worker_binary()},
                 "unknown option --wrokers (did you mean --workers?) (see cservice --help)");
}

TEST_F(BadInputTest, FlagWithoutItsValue) {
  expect_refused({test_worker_binary(), "--port"},
                 "missing value for --port: expected a whole number from 0 to 65535");
}

TEST_F(BadInputTest, BadFlagValue) {
  expect_refused({"--worker-count", "0", test_worker_binary()},
                 "bad option workerCount (--worker-count): expected a whole number from 1 to "
                 "1024, got 0");
  expect_refused({"--restart-delay-ms", "soon", test_worker_binary()},
                 "bad option restartDelayMs");
  expect_refused({"--stop-signal", "SIGWHAT", test_worker_binary()}, "bad option stopSignal");
  expect_refused({"--ready", "later", test_worker_binary()}, "bad option ready");
}

TEST_F(BadInputTest, NoProgram) { expect_refused({}, "no program given"); }

TEST_F(BadInputTest, UnknownConfigKey) {
  const std::string config = write_file(
      "service.json", R"({"program": ")" + test_worker_binary() + R"(", "workerCont": 2})", false);
  expect_refused({config}, "unknown option 'workerCont' (did you mean 'workerCount'?)");
}

TEST_F(BadInputTest, MalformedConfigFile) {
  const std::string config = write_file("service.json", "{\"workerCount\": 2,,}", false);
  expect_refused({config}, "service.json: not valid JSON at line 1, column 19: unexpected ','");
}

TEST_F(BadInputTest, BadListenAddress) {
  expect_refused({"--listen", "127.0.0.1:http", test_worker_binary()},
                 "bad listen address '127.0.0.1:http'");
}

TEST_F(BadInputTest, PortAlreadyInUse) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  expect_refused({"--listen", "127.0.0.1:" + port, test_worker_binary()},
                 "listen 127.0.0.1:" + port + ": Address already in use");
  ::close(fd);
}

}  // namespace
}  // namespace cservice::testing
