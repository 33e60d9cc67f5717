// The master's log under hostile input: what workers send cannot forge a line of it nor break
// its JSON answers.

#include <csignal>
#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "integration_test.hpp"

namespace cservice::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey = "log-test-key-51c2";

class LogTest : public IntegrationTest {
 protected:
  // A service running `worker_args` as its one worker, with the API on a free loopback port.
  ServiceProcess& start_service(std::vector<std::string> worker_args,
                                std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--workers", "1",         "--access-key", kKey,
                                     "--host",    "127.0.0.1", "--port",       "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), worker_args.begin(), worker_args.end());
    auto& service = start(args);
    port_ = service.api_port();
    return service;
  }
  void stop(ServiceProcess& service) {
    service.signal(SIGTERM);
    EXPECT_EQ(service.wait_exit(10s), 0);
    EXPECT_EQ(service.count(kKey), 0u) << "the access key appeared in the output";
  }

  int port_ = -1;
};

TEST_F(LogTest, WorkerTextIsEscapedInTheLogAndInWorkersJson) {
  // A STATUS with an escape sequence, a tab and bytes that are not UTF-8 (a datagram cannot
  // hold a newline or NUL in a value), and an event name with both (JSON escapes can).
  const std::string script = write_file("hostile.py", R"(#!/usr/bin/env python3
import os, signal, socket
notify = os.environ["NOTIFY_SOCKET"].replace("@", "\0", 1)
with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
    s.sendto(b"STATUS=\x1b[31mred\xff\xfe\tend\\n\nREADY=1", notify)
control = os.environ["CSERVICE_CONTROL_SOCKET"].replace("@", "\0", 1)
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
    s.connect(control)
    s.sendall(b'{"name": "evil\\ncservice: error: forged\\u0000end"}\n')
    print("answer:", s.makefile().readline().strip(), flush=True)
signal.sigwait([signal.SIGTERM])
)",
                                        true);
  auto& service = start_service({script}, {"--ready", "notify"});
  ASSERT_TRUE(service.wait_for("starting -> ready", 10s, "the worker ready, with its status"));
  ASSERT_TRUE(service.wait_for(R"(: answer: )", 10s, "the worker's answer"));

  const auto answer = run_command(port_, kKey, "workers");
  ASSERT_EQ(answer.status, 200) << answer.body;
  const json workers = json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(workers.is_discarded()) << answer.body;
  ASSERT_EQ(workers["workers"].size(), 1u) << workers.dump();
  EXPECT_EQ(workers["workers"][0]["status"], R"(\x1b[31mred\xff\xfe\tend\\n)") << workers.dump();

  EXPECT_EQ(service.count("^cservice: error: forged"), 0u) << service.output();
  EXPECT_EQ(service.count(R"(control: worker pid \d+: evil\\ncservice: error: forged\\0end$)"), 1u)
      << service.output();
  stop(service);
}

}  // namespace
}  // namespace cservice::testing
