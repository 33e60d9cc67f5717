// Whom the master believes on the worker channel and the notify socket: a worker, or a
// descendant of one that runs as the worker's user. Not a process that joined a worker's process
// group (any process in the master's session may, whatever its user), and not a descendant that
// became another user. The attacks run as `nobody` through setpriv, so they need root.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "integration_test.hpp"

namespace cservice::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey = "trust-key";
constexpr const char* kPython = "/usr/bin/python3";  // one that `nobody` may run

bool can_switch_user() {
  return ::geteuid() == 0 && std::filesystem::exists("/usr/bin/setpriv") &&
         std::filesystem::exists(kPython);
}

// Run as nobody in the test's session (the master's too): joins the worker's process group,
// sets a status through the notify socket, then asks the worker channel for `workers`.
constexpr const char* kImpostor = R"(
import os, socket, sys
worker, channel, notify = int(sys.argv[1]), sys.argv[2], sys.argv[3]
os.setpgid(0, worker)
print("impostor uid", os.getuid(), "in group", os.getpgid(0), flush=True)
with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
    s.sendto(b"STATUS=set by an impostor", notify.replace("@", "\0", 1))
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
    s.connect(channel.replace("@", "\0", 1))
    s.sendall(b'{"name": "workers"}\n')
    print("impostor answer:", s.makefile().readline().strip(), flush=True)
)";

// A worker whose child (as the worker's user, or as nobody with argv[1] "nobody") sets a status
// and asks the worker channel; then the worker itself says READY=1. The notify datagrams reach
// the master in that order, so once the worker is ready the child's status has been judged.
constexpr const char* kWorkerWithChild = R"(
import os, signal, socket, sys
notify = os.environ["NOTIFY_SOCKET"].replace("@", "\0", 1)
channel = os.environ["CSERVICE_CONTROL_SOCKET"].replace("@", "\0", 1)
def send(message):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(message, notify)
done_reading, done_writing = os.pipe()
if os.fork() == 0:
    if sys.argv[1] == "nobody":
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    send(b"STATUS=set by a child")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(channel)
        s.sendall(b'{"name": "workers"}\n')
        print("child answer:", s.makefile().readline().strip(), flush=True)
    os.write(done_writing, b"x")
    signal.pause()  # alive until the worker's group is stopped
os.read(done_reading, 1)
send(b"READY=1")
signal.sigwait([signal.SIGTERM])
)";

class WorkerTrustTest : public IntegrationTest {
 protected:
  // The status `workers` shows for the only worker ("" if none).
  static std::string status_of_only_worker(int port) {
    const auto answer = run_command(port, kKey, "workers");
    const json body = json::parse(answer.body, nullptr, false);
    if (answer.status != 200 || !body.contains("workers") || body["workers"].size() != 1) {
      ADD_FAILURE() << "workers: " << answer.status << " " << answer.body;
      return {};
    }
    return body["workers"][0].value("status", "");
  }

  struct ChildRun {
    json answer;         // what the worker channel answered the child
    std::string status;  // the worker's status once it was ready
  };
  // Serves kWorkerWithChild, its child running as the worker's user ("same") or as "nobody".
  ChildRun run_worker_with_child(const std::string& user) {
    const std::string script = write_file("worker.py", kWorkerWithChild, false);
    auto& service = start({"--workers", "1", "--ready", "notify", "--port", "0", "--access-key",
                           kKey, kPython, "--", script, user});
    const int port = service.api_port();
    ChildRun run;
    if (const auto answer =
            service.wait_for(R"(: child answer: (.*)$)", 10s, "the child's answer")) {
      run.answer = json::parse((*answer)[1], nullptr, false);
    }
    if (service.wait_for(R"(worker 1 pid \d+: starting -> ready)", 10s, "the worker ready")) {
      run.status = status_of_only_worker(port);
    }
    service.signal(SIGTERM);
    EXPECT_EQ(service.wait_exit(10s), 0);
    return run;
  }
};

TEST_F(WorkerTrustTest, AnotherUserInAWorkersProcessGroupIsNotBelieved) {
  if (!can_switch_user()) GTEST_SKIP() << "needs root, setpriv and " << kPython;
  auto& service = start({"--workers", "1", "--ready", "started", "--port", "0", "--access-key",
                         kKey, test_worker_binary(), "--", "--print-env"});
  const int port = service.api_port();
  const auto notify = service.wait_for(R"(env NOTIFY_SOCKET=(@\S+)$)", 10s, "NOTIFY_SOCKET");
  const auto channel =
      service.wait_for(R"(env CSERVICE_CONTROL_SOCKET=(@\S+)$)", 5s, "the control socket");
  const auto worker = service.wait_for(R"(: pid=(\d+)$)", 5s, "the worker's pid");
  ASSERT_TRUE(notify && channel && worker);

  auto& impostor = start_program("/usr/bin/setpriv",
                                 {"--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
                                  kPython, "-c", kImpostor, (*worker)[1], (*channel)[1],
                                  (*notify)[1]});
  // The way in that was open: another user joins the worker's group (checked, so that this test
  // keeps testing something).
  ASSERT_TRUE(impostor.wait_for("^impostor uid 65534 in group " + (*worker)[1] + "$", 10s,
                                "the impostor in the worker's process group"));
  const auto answer = impostor.wait_for("^impostor answer: (.*)$", 10s, "the channel's answer");
  ASSERT_TRUE(answer);
  EXPECT_EQ(json::parse((*answer)[1], nullptr, false),
            (json{{"status", 401}, {"error", "not a worker of this service"}}));
  EXPECT_EQ(impostor.wait_exit(10s), 0);

  EXPECT_NE(status_of_only_worker(port), "set by an impostor");
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(WorkerTrustTest, AWorkersChildSpeaksForIt) {
  const auto [answer, status] = run_worker_with_child("same");
  EXPECT_EQ(answer.value("status", 0), 200) << answer.dump();
  EXPECT_EQ(status, "set by a child");
}

TEST_F(WorkerTrustTest, AWorkersChildThatBecameAnotherUserDoesNotSpeakForIt) {
  if (!can_switch_user()) GTEST_SKIP() << "needs root to change user";
  const auto [answer, status] = run_worker_with_child("nobody");
  EXPECT_EQ(answer, (json{{"status", 401}, {"error", "not a worker of this service"}}));
  EXPECT_NE(status, "set by a child");
}

// Refused connections linger a moment (so the refusal is read), but an outsider who opens
// hundreds of them does not make the master hold hundreds of descriptors.
TEST_F(WorkerTrustTest, AFloodOfOutsidersConnectionsHoldsFewDescriptors) {
  auto& service = start({"--workers", "1", "--ready", "started", test_worker_binary(), "--",
                         "--print-env"});
  const auto channel =
      service.wait_for(R"(env CSERVICE_CONTROL_SOCKET=(@\S+)$)", 10s, "the control socket");
  ASSERT_TRUE(channel);
  const auto count_fds = [&service] {
    const std::string dir = "/proc/" + std::to_string(service.pid()) + "/fd";
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                                  std::filesystem::directory_iterator()));
  };
  const std::size_t before = count_fds();
  const std::string& address = (*channel)[1];
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, address.data() + 1, address.size() - 1);
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  std::vector<int> held;
  for (int i = 0; i < 800; ++i) {  // within a default limit of 1024 descriptors
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    held.push_back(fd);
    ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), length), 0) << i;
  }
  // Each refused connection has been answered (or closed) once its peer sees the end of it.
  char byte;
  for (const int fd : held) {
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    while (::recv(fd, &byte, 1, 0) > 0) {
    }
  }
  EXPECT_LE(count_fds(), before + 70) << "descriptors held for refused connections";
  for (const int fd : held) ::close(fd);
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

}  // namespace
}  // namespace cservice::testing
