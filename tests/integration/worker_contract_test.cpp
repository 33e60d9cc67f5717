// The worker contract (DESIGN.md §3) as a worker sees it, and the notify socket's defences.

#include "integration_test.hpp"

#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace cservice::testing {
namespace {

class WorkerContractTest : public IntegrationTest {};

std::string value_of(const std::vector<std::string>& lines, const std::string& key) {
  for (const auto& line : lines) {
    const auto at = line.find(key);
    if (at != std::string::npos) return line.substr(at + key.size());
  }
  return "(missing)";
}

TEST_F(WorkerContractTest, WorkerSeesSocketsNamesIdEnvironmentAndNothingElse) {
  auto& service = start({"--workers", "1", "--listen", "web=127.0.0.1:0", "--listen",
                         "admin=127.0.0.1:0", "--env", "TEST_EXTRA=yes", "--cwd", temp_dir(),
                         "--ready", "started", test_worker_binary(), "--", "--print-env"},
                        // Inherited contract variables of the master must not reach workers.
                        {{"LISTEN_FDS", "9"}, {"LISTEN_FDNAMES", "bogus"}});
  ASSERT_TRUE(service.wait_for(R"(fds=)", 10s, "the worker's report"));
  ASSERT_TRUE(service.wait_for(R"(socket admin=)", 10s, "the worker's socket list"));
  const auto lines = service.lines();
  const pid_t pid = service.started_pids().at(0);
  EXPECT_EQ(value_of(lines, "env LISTEN_FDS="), "2");
  EXPECT_EQ(value_of(lines, "env LISTEN_FDNAMES="), "web:admin");
  EXPECT_EQ(value_of(lines, "env LISTEN_PID="), std::to_string(pid));
  EXPECT_EQ(value_of(lines, "env CSERVICE_WORKER_ID="), "1");
  EXPECT_TRUE(value_of(lines, "env NOTIFY_SOCKET=").starts_with("@cservice/"));
  EXPECT_EQ(value_of(lines, "env TEST_EXTRA="), "yes");
  EXPECT_EQ(value_of(lines, "cwd="), temp_dir());
  EXPECT_EQ(value_of(lines, "fds="), "0,1,2,3,4") << "only stdio and the passed sockets";
  EXPECT_EQ(value_of(lines, "socket web="), "3");
  EXPECT_EQ(value_of(lines, "socket admin="), "4");
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(WorkerContractTest, MalformedAndOversizedNotifyMessagesDoNoHarm) {
  auto& service = start({"--workers", "1", "--ready", "notify", test_worker_binary(), "--",
                         "--notify-garbage", "--ready-after", "0"});
  ASSERT_TRUE(service.wait_for("starting -> ready", 10s, "the worker ready after the garbage"));
  EXPECT_EQ(service.count("dropped a datagram of 8192 bytes"), 1u);
  EXPECT_EQ(service.count("dropped a malformed datagram"), 1u);
  EXPECT_EQ(service.count("ready \\(READY=1\\)"), 1u) << "the NUL datagram's READY=1 counted";
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(WorkerContractTest, NotifyFromAProcessThatIsNoWorkerIsIgnored) {
  auto& service = start({"--workers", "1", "--ready", "notify", "--ready-timeout-ms", "1500",
                         "--restart-on-failure", "false", test_worker_binary(), "--",
                         "--print-env"});
  const auto address = service.wait_for("env NOTIFY_SOCKET=@(.*)$", 10s, "the notify address");
  ASSERT_TRUE(address);
  // This test process sends READY=1 on the worker's behalf.
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string name = (*address)[1];
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(::sendto(fd, "READY=1", 7, 0, reinterpret_cast<sockaddr*>(&addr), len), 7);
  ::close(fd);
  ASSERT_TRUE(service.wait_for("not ready after 1500 ms", 10s, "the ready timeout"));
  EXPECT_EQ(service.count("starting -> ready"), 0u) << "a stranger's READY=1 was believed";
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

}  // namespace
}  // namespace cservice::testing
