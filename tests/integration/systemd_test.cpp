// The master as a systemd service: the notify protocol towards its own manager (a datagram
// socket this test binds stands in for systemd), socket activation with systemd-socket-activate,
// and the example unit files read by systemd-analyze.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace cservice::testing {
namespace {

// What systemd's end of NOTIFY_SOCKET sees: every datagram, in order, from a thread.
class NotifyReceiver {
 public:
  explicit NotifyReceiver(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    reader_ = std::thread([this] { read(); });
  }
  ~NotifyReceiver() {
    stop_ = true;
    reader_.join();
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }

  std::vector<std::string> messages() const {
    const std::lock_guard lock(mutex_);
    return messages_;
  }
  // The index of the first message from `from` on that contains `text`, within `timeout`.
  std::optional<std::size_t> wait_for(const std::string& text, std::chrono::milliseconds timeout,
                                      std::size_t from = 0) const {
    std::optional<std::size_t> found;
    wait_until(
        [&] {
          const auto all = messages();
          for (std::size_t i = from; i < all.size(); ++i) {
            if (all[i].find(text) != std::string::npos) {
              found = i;
              return true;
            }
          }
          return false;
        },
        timeout);
    return found;
  }
  std::size_t count(const std::string& text) const {
    const auto all = messages();
    return static_cast<std::size_t>(std::count_if(all.begin(), all.end(), [&](const auto& m) {
      return m.find(text) != std::string::npos;
    }));
  }
  std::string dump() const {
    std::string out;
    for (const auto& m : messages()) out += "[" + m + "] ";
    return out;
  }

 private:
  void read() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) continue;
      const std::lock_guard lock(mutex_);
      messages_.emplace_back(buffer, static_cast<std::size_t>(n));
    }
  }

  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
  std::atomic<bool> stop_{false};
  std::thread reader_;
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
};

class SystemdTest : public IntegrationTest {
 protected:
  std::string notify_path() const { return temp_dir() + "/notify.sock"; }
};

TEST_F(SystemdTest, ReadyOnceEveryWorkerIsReadyThenStatusAndStoppingOnSigterm) {
  NotifyReceiver manager(notify_path());
  ASSERT_TRUE(manager.bound());
  auto& service = start({"--workers", "3", "--ready", "notify", test_worker_binary(), "--",
                         "--ready-after", "200"},
                        {{"NOTIFY_SOCKET", notify_path()}});
  const auto ready = manager.wait_for("READY=1", 15s);
  ASSERT_TRUE(ready) << manager.dump();
  // Not before the last of the three workers said READY=1 itself (its STATUS says 3/3 below;
  // the master's log line of it may still be on its way to the test).
  EXPECT_TRUE(service.wait_for_count("starting -> ready", 3, 5s, "three workers ready"));
  EXPECT_NE(manager.messages()[*ready].find("STATUS=3/3 workers ready"), std::string::npos)
      << manager.dump();
  EXPECT_EQ(manager.count("READY=1"), 1u);
  EXPECT_GE(manager.count("STATUS=0/3 workers ready"), 1u) << "status while starting";
  service.signal(SIGTERM);
  EXPECT_TRUE(manager.wait_for("STOPPING=1", 10s, *ready)) << manager.dump();
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(SystemdTest, ReadyAfterTheReadyTimeoutWhenAWorkerNeverIsReady) {
  NotifyReceiver manager(notify_path());
  ASSERT_TRUE(manager.bound());
  auto& service = start({"--workers", "1", "--ready", "notify", "--ready-timeout-ms", "700",
                         "--restart-on-failure", "false", test_worker_binary(), "--",
                         "--never-ready"},
                        {{"NOTIFY_SOCKET", notify_path()}});
  const auto ready = manager.wait_for("READY=1", 10s);
  ASSERT_TRUE(ready) << "systemd would wait until its own time-out: " << manager.dump();
  EXPECT_NE(manager.messages()[*ready].find("STATUS=0/1 workers ready"), std::string::npos)
      << manager.dump();
  EXPECT_TRUE(service.wait_for("not every worker is ready after readyTimeoutMs=700", 5s,
                               "the warning"));
  stop_gracefully(service);
}

TEST_F(SystemdTest, SighupIsReloadingThenReadyWithAMonotonicTimestamp) {
  NotifyReceiver manager(notify_path());
  ASSERT_TRUE(manager.bound());
  auto& service = start({"--workers", "2", "--ready", "notify", test_worker_binary(), "--",
                         "--ready-after", "50"},
                        {{"NOTIFY_SOCKET", notify_path()}});
  const auto ready = manager.wait_for("READY=1", 15s);
  ASSERT_TRUE(ready) << manager.dump();
  service.signal(SIGHUP);
  const auto reloading = manager.wait_for("RELOADING=1", 10s, *ready + 1);
  ASSERT_TRUE(reloading) << manager.dump();
  EXPECT_NE(manager.messages()[*reloading].find("\nMONOTONIC_USEC="), std::string::npos)
      << manager.dump();
  EXPECT_TRUE(manager.wait_for("restarting", 10s, *reloading)) << manager.dump();
  const auto reloaded = manager.wait_for("READY=1", 15s, *reloading + 1);
  ASSERT_TRUE(reloaded) << manager.dump();
  EXPECT_NE(manager.messages()[*reloaded].find("STATUS=2/2 workers ready"), std::string::npos)
      << manager.dump();
  EXPECT_TRUE(service.wait_for("SIGHUP: every worker restarted", 5s, "the restart's end"));
  stop_gracefully(service);
}

TEST_F(SystemdTest, WatchdogPingsEveryHalfOfWatchdogUsec) {
  NotifyReceiver manager(notify_path());
  ASSERT_TRUE(manager.bound());
  auto& service = start({"--workers", "1", test_worker_binary()},
                        {{"NOTIFY_SOCKET", notify_path()}, {"WATCHDOG_USEC", "200000"}});
  ASSERT_TRUE(service.wait_for("WATCHDOG=1 every 100 ms", 10s, "the watchdog's start"));
  EXPECT_TRUE(wait_until([&] { return manager.count("WATCHDOG=1") >= 3; }, 10s))
      << manager.dump();
  stop_gracefully(service);
}

TEST_F(SystemdTest, NoWatchdogWhenWatchdogPidNamesAnotherProcess) {
  NotifyReceiver manager(notify_path());
  ASSERT_TRUE(manager.bound());
  auto& service = start({"--workers", "1", "--ready", "started", test_worker_binary()},
                        {{"NOTIFY_SOCKET", notify_path()},
                         {"WATCHDOG_USEC", "100000"},
                         {"WATCHDOG_PID", "1"}});
  ASSERT_TRUE(manager.wait_for("READY=1", 10s)) << manager.dump();
  stop_gracefully(service);
  EXPECT_EQ(manager.count("WATCHDOG=1"), 0u) << manager.dump();
  EXPECT_EQ(service.count("WATCHDOG=1 every"), 0u);
}

TEST_F(SystemdTest, WorkersGetTheMastersOwnNotifySocketNotTheManagers) {
  NotifyReceiver manager(notify_path());
  ASSERT_TRUE(manager.bound());
  auto& service = start({"--workers", "1", "--ready", "started", test_worker_binary(), "--",
                         "--print-env"},
                        {{"NOTIFY_SOCKET", notify_path()}, {"WATCHDOG_USEC", "5000000"}});
  ASSERT_TRUE(service.wait_for("env NOTIFY_SOCKET=@cservice/", 10s, "the worker's socket"));
  EXPECT_EQ(service.count("env WATCHDOG_USEC="), 0u) << "the manager's watchdog is the master's";
  stop_gracefully(service);
}

// systemd-socket-activate binds the socket and, at the first connection, execs the master with
// LISTEN_FDS=1, as a socket unit does. It takes no port 0: a free port is found first.
std::string socket_activate_binary() {
  for (const char* path : {"/usr/bin/systemd-socket-activate", "/bin/systemd-socket-activate"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return {};
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

TEST_F(SystemdTest, SocketActivatedSocketIsPassedToEveryWorkerAndServes) {
  const std::string activate = socket_activate_binary();
  if (activate.empty()) GTEST_SKIP() << "systemd-socket-activate (package systemd) not installed";
  const int port = free_port();
  ASSERT_NE(port, 0);
  auto& service = start_program(
      activate, {"-l", "127.0.0.1:" + std::to_string(port), "--fdname=web", cservice_binary(),
                 "--workers", "2", "--ready", "started", hello_worker_binary(), "--", "--body",
                 "activated"});
  ASSERT_TRUE(service.wait_for("Listening on 127.0.0.1:" + std::to_string(port), 10s,
                               "systemd-socket-activate's socket"));
  // The first connection starts the service; the kernel holds it until a worker accepts.
  const auto first = http_get("127.0.0.1", port, "/", 30s);
  ASSERT_TRUE(first) << service.output();
  EXPECT_NE(first->body.find("activated"), std::string::npos) << first->body;
  EXPECT_TRUE(service.wait_for(
      "listening on 127\\.0\\.0\\.1:" + std::to_string(port) +
          " \\(name web, from the service manager\\)",
      5s, "the master's line for the activated socket"));
  ASSERT_TRUE(service.wait_for_count("starting -> ready", 2, 15s, "2 workers ready"));
  for (int i = 0; i < 20; ++i) {
    const auto answer = http_get("127.0.0.1", port, "/");
    ASSERT_TRUE(answer) << "request " << i << " unanswered";
    EXPECT_EQ(answer->status, 200);
    EXPECT_NE(answer->body.find("activated"), std::string::npos) << answer->body;
  }
  stop_gracefully(service);
}

TEST_F(SystemdTest, SocketActivatedSocketKeepsItsNameAndFdForTheWorker) {
  const std::string activate = socket_activate_binary();
  if (activate.empty()) GTEST_SKIP() << "systemd-socket-activate (package systemd) not installed";
  const int port = free_port();
  ASSERT_NE(port, 0);
  auto& service = start_program(
      activate, {"-l", "127.0.0.1:" + std::to_string(port), "--fdname=web", cservice_binary(),
                 "--workers", "1", "--listen", "admin=127.0.0.1:0", "--ready", "started",
                 test_worker_binary(), "--", "--print-env"});
  ASSERT_TRUE(service.wait_for("Listening on 127.0.0.1:" + std::to_string(port), 10s,
                               "systemd-socket-activate's socket"));
  (void)http_get("127.0.0.1", port, "/", 1s);  // a connection, so that it starts the service
  ASSERT_TRUE(service.wait_for(R"(socket admin=)", 15s, "the worker's socket list"));
  const auto lines = service.lines();
  const auto has = [&](const std::string& text) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const auto& line) { return line.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has("env LISTEN_FDS=2")) << service.output();
  EXPECT_TRUE(has("env LISTEN_FDNAMES=web:admin")) << service.output();
  EXPECT_TRUE(has("socket web=3")) << service.output();
  EXPECT_TRUE(has("socket admin=4")) << service.output();
  stop_gracefully(service);
}

TEST_F(SystemdTest, APassedDescriptorThatIsNoListeningSocketIsAClearStartupError) {
  // fd 3 is a file, and LISTEN_PID names the shell that execs the master (same pid).
  auto& service = start_program(
      "/bin/sh", {"-c", "exec 3</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" --workers 1 \"$1\"",
                  cservice_binary(), test_worker_binary()});
  EXPECT_TRUE(service.wait_for(R"(socket activation: fd 3 \(listen\): .*socket)", 10s,
                               "the error naming the descriptor"));
  const auto status = service.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_NE(*status, 0);
  EXPECT_EQ(service.count("starting"), 0u) << "no worker started";
}

// The example unit files parse: systemd-analyze verify reports nothing, with ExecStart naming
// this build's binary (verify checks that it exists).
TEST_F(SystemdTest, ExampleUnitFilesVerify) {
  const std::string analyze = "/usr/bin/systemd-analyze";
  if (::access(analyze.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "systemd-analyze (package systemd) not installed: verify the units with "
                    "`systemd-analyze verify cservice.socket cservice.service` where it is";
  }
  const std::filesystem::path source = std::filesystem::path(SOURCE_DIR) / "examples" / "systemd";
  for (const std::string name : {"cservice.service", "cservice.socket"}) {
    std::ifstream in(source / name);
    ASSERT_TRUE(in) << "missing " << (source / name);
    std::stringstream text;
    text << in.rdbuf();
    std::string unit = text.str();
    const std::string installed = "/usr/local/bin/cservice";
    if (const auto at = unit.find(installed); at != std::string::npos) {
      unit.replace(at, installed.size(), cservice_binary());
    }
    write_file(name, unit, false);
  }
  auto& verify = start_program(analyze, {"verify", temp_dir() + "/cservice.socket",
                                         temp_dir() + "/cservice.service"});
  const auto status = verify.wait_exit(60s);
  ASSERT_TRUE(status) << "systemd-analyze did not finish";
  if (*status != 0 && verify.output().find("System has not been booted with systemd") !=
                          std::string::npos) {
    GTEST_SKIP() << "systemd-analyze cannot run here: " << verify.output();
  }
  EXPECT_EQ(*status, 0) << verify.output();
  EXPECT_EQ(verify.output(), "") << "every warning is a unit-file mistake";
}

}  // namespace
}  // namespace cservice::testing
