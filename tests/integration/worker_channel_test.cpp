// The worker channel (CSERVICE_CONTROL_SOCKET) speaks newline-delimited JSON, so a worker in
// any language can call its master; a process that is not one of the master's workers is
// refused.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <cstring>
#include <nlohmann/json.hpp>

#include "integration_test.hpp"

namespace cservice::testing {
namespace {

using nlohmann::json;

class WorkerChannelTest : public IntegrationTest {};

// Sends `request` to the abstract unix socket `address` ("@name") and returns the first line
// of the answer ("" on failure).
std::string ask(const std::string& address, const std::string& request) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, address.data(), address.size());
  addr.sun_path[0] = '\0';
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), length) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    ssize_t n;
    while (answer.find('\n') == std::string::npos &&
           (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
      answer.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return answer.substr(0, answer.find('\n'));
}

TEST_F(WorkerChannelTest, APythonWorkerCallsItsMaster) {
  const std::string script = write_file("ask.py", R"(#!/usr/bin/env python3
import json, os, signal, socket, sys
address = os.environ["CSERVICE_CONTROL_SOCKET"].replace("@", "\0", 1)
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
    s.connect(address)
    s.sendall(json.dumps({"name": "workers", "args": ["simple"]}).encode() + b"\n")
    s.sendall(b'{"args": []}\n')
    replies = s.makefile()
    answers = replies.readline(), replies.readline()
print("answers:", *[a.strip() for a in answers], sep="\n", flush=True)
signal.sigwait([signal.SIGTERM])
)",
                                        true);
  auto& service = start({"--workers", "1", script});
  ASSERT_TRUE(service.wait_for(R"(: answers:$)", 10s, "the python worker's answers"));
  const auto first = service.wait_for(R"(: (\{.*\})$)", 5s, "the workers answer");
  ASSERT_TRUE(first);
  const json workers = json::parse((*first)[1]);
  EXPECT_EQ(workers["status"], 200);
  EXPECT_EQ(workers["result"]["workers"].size(), 1u) << workers.dump();
  const auto second = service.wait_for(R"(: (\{.*\})$)", 5s, "the bad request's answer");
  ASSERT_TRUE(second);
  EXPECT_EQ(json::parse((*second)[1]),
            (json{{"status", 400}, {"error", "\"name\" must be a command or event name"}}));
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

// A line nested 20,000 deep fits in the line limit; as a value, copying or printing it would
// overflow the master's stack. It is refused, and the service goes on.
TEST_F(WorkerChannelTest, DeeplyNestedArgumentsAreRefusedAndTheServiceGoesOn) {
  const std::string script = write_file("deep.py", R"(#!/usr/bin/env python3
import os, signal, socket
address = os.environ["CSERVICE_CONTROL_SOCKET"].replace("@", "\0", 1)
depth = 20000
for line in [b'{"name": "workers", "args": [' + b"[" * depth + b"]" * depth + b"]}\n",
             b'{"name": "version"}\n']:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(address)
        s.sendall(line)
        print("answer:", s.makefile().readline().strip(), flush=True)
signal.sigwait([signal.SIGTERM])
)",
                                        true);
  auto& service = start({"--workers", "1", script});
  const auto deep = service.wait_for(R"(: answer: (.*)$)", 10s, "the deep line's answer");
  ASSERT_TRUE(deep);
  EXPECT_EQ(json::parse((*deep)[1]).value("status", 0), 400) << (*deep)[1];
  const auto version = service.wait_for(R"(: answer: (.*)$)", 10s, "the next answer");
  ASSERT_TRUE(version);
  EXPECT_EQ(json::parse((*version)[1]).value("status", 0), 200) << (*version)[1];
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(WorkerChannelTest, AProcessThatIsNoWorkerIsRefused) {
  auto& service = start({"--workers", "1", test_worker_binary(), "--", "--print-env"});
  const auto address = service.wait_for(R"(env CSERVICE_CONTROL_SOCKET=(@\S+)$)", 10s,
                                        "the worker's control socket");
  ASSERT_TRUE(address);
  // This test process is not a worker of that master.
  const json refused = json::parse(ask((*address)[1], R"({"name": "workers"})"
                                                      "\n"),
                                   nullptr, false);
  EXPECT_EQ(refused, (json{{"status", 401}, {"error", "not a worker of this service"}}));
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

}  // namespace
}  // namespace cservice::testing
