// The master's log under hostile input: what workers and peers send cannot forge a line of it,
// cannot break its JSON answers, cannot flood it, and no access key reaches it.

#include <csignal>
#include <filesystem>
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
  void stop(ServiceProcess& service) { stop_gracefully(service, kKey); }

  int port_ = -1;
};

TEST_F(LogTest, ANotifyFloodGivesALineASecond) {
  auto& service = start_service({test_worker_binary(), "--", "--notify-flood", "1500"});
  const auto flood = service.wait_for(R"(notify flood: (\d+) datagrams)", 15s, "the flood's end");
  ASSERT_TRUE(flood);
  const long sent = std::stol((*flood)[1]);
  ASSERT_GT(sent, 100) << "not much of a flood";
  // Every datagram is dropped (each holds a NUL), and a line says so once a second, the second
  // one with the count of those held back.
  ASSERT_TRUE(service.wait_for_count(
      R"(notify socket: dropped a malformed datagram from pid \d+ \(\d+ similar suppressed\))", 1,
      5s, "the count of the warnings held back"));
  const std::size_t lines = service.count("notify socket: dropped");
  EXPECT_GE(lines, 2u);
  EXPECT_LE(lines, 3u) << sent << " datagrams gave " << lines << " lines";
  stop(service);
}

TEST_F(LogTest, WorkerTextIsEscapedInTheLogAndInWorkersJson) {
  // A STATUS with an escape sequence, a tab, bytes that are not UTF-8 and U+202E (right-to-left
  // override; a datagram cannot hold a newline or NUL in a value), and an event name with both
  // (JSON escapes can).
  const std::string script = write_file("hostile.py", R"(#!/usr/bin/env python3
import os, signal, socket
notify = os.environ["NOTIFY_SOCKET"].replace("@", "\0", 1)
with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
    s.sendto(b"STATUS=\x1b[31mred\xff\xfe\tend\\n\xe2\x80\xae\nREADY=1", notify)
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
  EXPECT_EQ(workers["workers"][0]["status"], R"(\x1b[31mred\xff\xfe\tend\\n\u202e)")
      << workers.dump();

  EXPECT_EQ(service.count("^cservice: error: forged"), 0u) << service.output();
  EXPECT_EQ(service.count(R"(control: worker pid \d+: evil\\ncservice: error: forged\\0end$)"), 1u)
      << service.output();
  stop(service);
}

TEST_F(LogTest, EveryAccessKeyParameterIsMasked) {
  auto& service = start_service({test_worker_binary()});
  const auto answer =
      http_request("POST", "127.0.0.1", port_,
                   std::string("/cli?cmd=version&accessKey=") + kKey + "&accessKey=second-secret");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200) << answer->body;
  EXPECT_TRUE(service.wait_for(R"(/cli\?cmd=version&accessKey=\*\*\*&accessKey=\*\*\* -> 200)", 5s,
                               "the request's log line"));
  EXPECT_EQ(service.count("second-secret"), 0u) << service.output();
  stop(service);
}

// A key can reach a log line by other paths than an accessKey parameter: a misspelled one
// (answered 401 and logged), or a directory command's error text, which the commandRun event
// carries. It is masked there too.
TEST_F(LogTest, AKeyIsMaskedWhateverPathBringsItToTheLog) {
  const std::string commands = temp_dir() + "/commands";
  std::filesystem::create_directories(commands);
  write_file("commands/leaks.sh",
             "#!/bin/sh\necho \"request failed: ${CSERVICE_URL}?accessKey=${CSERVICE_ACCESS_KEY}\" >&2\n"
             "exit 1\n",
             true);
  auto& service = start_service({test_worker_binary()}, {"--commands", commands});
  for (const std::string target : {"/cli?cmd=version&access_key=", "/cli?cmd=version&+accessKey=",
                                   "/cli/accessKey="}) {
    const auto answer = http_request("POST", "127.0.0.1", port_, target + kKey);
    ASSERT_TRUE(answer) << target;
    EXPECT_NE(answer->status, 200) << target;
  }
  const auto failed = run_command(port_, kKey, "leaks");
  EXPECT_EQ(failed.status, 500) << failed.body;
  ASSERT_TRUE(service.wait_for(R"(event commandRun \{.*"command":"leaks".*accessKey=\*\*\*)", 5s,
                               "the failed command's audit event, key masked"));
  stop(service);  // and no line holds the key
}

TEST_F(LogTest, AFloodOfKeylessRequestsGivesALineASecond) {
  auto& service = start_service({test_worker_binary()});
  // Wrong keys, one request after another, until the second log line (with the count of those
  // held back) shows that a second has passed.
  const auto deadline = Clock::now() + 10s;
  int sent = 0;
  while (service.count(R"(-> 401 \(\d+ similar suppressed\))") == 0 && Clock::now() < deadline) {
    const auto answer = http_request("POST", "127.0.0.1", port_, "/cli?cmd=workers&accessKey=x");
    ASSERT_TRUE(answer);
    ASSERT_EQ(answer->status, 401);
    ++sent;
  }
  ASSERT_GT(sent, 20) << "not much of a flood";
  const std::size_t lines = service.count("-> 401");
  EXPECT_GE(lines, 2u);
  EXPECT_LE(lines, 3u) << sent << " requests gave " << lines << " lines";
  stop(service);
}

}  // namespace
}  // namespace cservice::testing
