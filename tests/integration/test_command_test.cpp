// The `test` command over the real REST API: a script run against the running service with its
// address and key in the environment; exit 0 passes, anything else fails with the end of its
// output; past its time-out it is killed with its process group. Local by default, and
// replaceable by library code.

#include <cctype>
#include <csignal>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "integration_test.hpp"

namespace cservice::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey = "test-command-key";

class TestCommandTest : public IntegrationTest {
 protected:
  // A service of one worker, run in the test's temp directory (the base of relative scripts).
  ServiceProcess& start_service(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--workers", "1",         "--access-key", kKey,
                                     "--host",    "127.0.0.1", "--port",       "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {test_worker_binary(), "--", "--ready-after", "0"});
    auto& service = start(args, {}, temp_dir());
    port_ = service.api_port();
    EXPECT_TRUE(service.wait_for("starting -> ready", 10s, "the worker ready"));
    return service;
  }
  HttpAnswer command(const std::string& line) { return run_command(port_, kKey, line); }
  json workers() { return json::parse(command("workers simple").body); }
  // The pid a script printed as a line "NAME PID" in `text`; -1 if none.
  static pid_t printed_pid(const std::string& text, const std::string& name) {
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    const std::string rest = text.substr(at + name.size() + 2);
    return rest.empty() || std::isdigit(static_cast<unsigned char>(rest[0])) == 0
               ? -1
               : std::stoi(rest);  // up to the line's end
  }

  int port_ = -1;
};

TEST_F(TestCommandTest, ScriptThatChecksTheRunningServicePasses) {
  // The script asks the service for its health through the REST API, with what its environment
  // says: the address and the key.
  write_file("check.sh",
             "#!/bin/sh\n"
             "echo \"host $CSERVICE_HOST port $CSERVICE_PORT args $*\"\n"
             "answer=$(curl -sS -f -X POST -H \"Authorization: Bearer $CSERVICE_ACCESS_KEY\" "
             "\"$CSERVICE_URL?cmd=health\") || exit 1\n"
             "echo \"health: $answer\"\n"
             "case \"$answer\" in *'\"health\":\"ok\"'*) exit 0 ;; *) exit 1 ;; esac\n",
             true);
  auto& service = start_service();

  const auto answer = command("test ./check.sh");
  ASSERT_EQ(answer.status, 200) << answer.body;
  const json result = json::parse(answer.body);
  EXPECT_EQ(result["test"], temp_dir() + "/check.sh");
  EXPECT_EQ(result["passed"], true);
  EXPECT_EQ(result["exitStatus"], 0);
  EXPECT_TRUE(result["durationMs"].is_number_integer()) << answer.body;
  const std::string output = result["output"];
  EXPECT_EQ(output.rfind("host 127.0.0.1 port " + std::to_string(port_) + " args \n", 0), 0u)
      << output;
  EXPECT_NE(output.find("health: {\"health\":\"ok\""), std::string::npos) << output;

  // The options object: arguments for the script, and a time-out it keeps within.
  const auto with_args = command(R"(test check.sh 0 {"timeout": 10000, "args": ["a", "b c"]})");
  ASSERT_EQ(with_args.status, 200) << with_args.body;
  EXPECT_NE(json::parse(with_args.body)["output"].get<std::string>().find("args a b c\n"),
            std::string::npos)
      << with_args.body;
  ASSERT_TRUE(service.wait_for(R"(test .*/check\.sh: passed in [0-9]+ ms)", 5s, "the log line"));
  stop_gracefully(service, kKey);
}

TEST_F(TestCommandTest, FailingScriptFailsWithItsOutput) {
  write_file("fails.sh",
             "#!/bin/sh\necho 'checking the service'\necho 'health is not ok' >&2\nexit 3\n", true);
  write_file("crashes.sh", "#!/bin/sh\nkill -SEGV $$\n", true);
  auto& service = start_service();

  const auto failed = command("test fails.sh 5000");
  EXPECT_EQ(failed.status, 500);
  // The whole text: the script, how it ended, then its stdout and stderr in order.
  EXPECT_EQ(failed.body.rfind("test " + temp_dir() + "/fails.sh: failed (exit 3) after ", 0), 0u)
      << failed.body;
  const std::string tail = " ms; output:\nchecking the service\nhealth is not ok";
  EXPECT_NE(failed.body.find(tail), std::string::npos) << failed.body;
  EXPECT_EQ(failed.body.substr(failed.body.find(tail) + tail.size()).find_first_not_of('\n'),
            std::string::npos)
      << "nothing after the output: " << failed.body;

  const auto crashed = command("test ./crashes.sh");
  EXPECT_EQ(crashed.status, 500);
  EXPECT_NE(crashed.body.find("crashes.sh: failed (killed by SIGSEGV) after "), std::string::npos)
      << crashed.body;
  EXPECT_NE(crashed.body.find("; no output"), std::string::npos) << crashed.body;
  // The service is intact.
  EXPECT_EQ(workers()["workers"][0]["state"], "ready");
  stop_gracefully(service, kKey);
}

TEST_F(TestCommandTest, ScriptPastItsTimeoutIsKilledWithWhatItStarted) {
  // A child in the background and a wait in the foreground: the time-out kills both.
  // And one that left the process group (setsid), holding the output pipe: stopped as a
  // worker's escaped descendant would be.
  write_file("hangs.sh",
             "#!/bin/sh\nsleep 1000 &\necho \"child $!\"\nsetsid sleep 1000 &\n"
             "echo \"escaped $!\"\necho \"self $$\"\nsleep 1000\necho never\n",
             true);
  auto& service = start_service();

  const auto start = Clock::now();
  const auto hung = command("test hangs.sh 700");
  EXPECT_GE(Clock::now() - start, 700ms);
  EXPECT_EQ(hung.status, 500);
  EXPECT_NE(hung.body.find("hangs.sh: timed out after 700 ms (killed with its process group); "
                           "output:\nchild "),
            std::string::npos)
      << hung.body;
  EXPECT_EQ(hung.body.find("never"), std::string::npos) << hung.body;
  const pid_t child = printed_pid(hung.body, "child");
  const pid_t self = printed_pid(hung.body, "self");
  ASSERT_GT(child, 0) << hung.body;
  ASSERT_GT(self, 0) << hung.body;
  EXPECT_TRUE(wait_until([&] { return is_dead(child) && is_dead(self); }, 5s))
      << "the script or its background child survived the time-out";
  const pid_t escaped = printed_pid(hung.body, "escaped");
  ASSERT_GT(escaped, 0) << hung.body;
  EXPECT_TRUE(wait_until([&] { return is_dead(escaped); }, 5s))
      << "the child that left the script's process group survived it";
  EXPECT_EQ(workers()["workers"][0]["state"], "ready");
  stop_gracefully(service, kKey);
}

TEST_F(TestCommandTest, StoppingTheServiceEndsARunningTest) {
  write_file("forever.sh", "#!/bin/sh\nsleep 1000 &\necho started\nsleep 1000\n", true);
  auto& service = start_service();
  auto answer = std::async(std::launch::async, [this] { return command("test forever.sh"); });
  ASSERT_TRUE(
      service.wait_for(R"(test .*/forever\.sh: running \(no time-out\))", 5s, "the test started"));
  // The script runs without a time-out: the service's stop kills it (and its background
  // child: the fixture's leak check fails for any survivor), and the master exits cleanly.
  stop_gracefully(service, kKey);
  ASSERT_TRUE(service.wait_for(R"(test .*/forever\.sh: failed \(killed by SIGKILL\))", 1s,
                               "the test's end logged before the master exited"));
  const auto got = answer.get();
  // The answer may or may not have been written before the loop ended.
  if (got.status != 0) {
    EXPECT_EQ(got.status, 500);
    EXPECT_NE(got.body.find("failed (killed by SIGKILL)"), std::string::npos) << got.body;
  }
}

TEST_F(TestCommandTest, BadPathOrTimeoutIsABadRequestThatRunsNothing) {
  const std::string marker = temp_dir() + "/ran";
  write_file("touch.sh", "#!/bin/sh\ntouch '" + marker + "'\n", true);
  write_file("notes.txt", "not executable\n", false);
  auto& service = start_service();
  const json before = workers();

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"test", "test: expected a test script; usage: test testScript [timeout]"},
      {"test ./missing.sh",
       "test: program " + temp_dir() + "/missing.sh: No such file or directory"},
      {"test notes.txt", "test: program " + temp_dir() + "/notes.txt: Permission denied"},
      {"test touch.sh -5",
       "test: timeout must be milliseconds, a whole number from 0 (none) to "
       "604800000, got -5"},
      {"test touch.sh soon", "got \"soon\""},
      {R"(test touch.sh {"timeout": 1.5})", "got 1.5"},
      {R"(test touch.sh {"args": "x"})", "test: args must be an array of strings, got \"x\""},
      {R"(test touch.sh {"cwd": "/"})", "test: unknown option 'cwd'"},
      {"test touch.sh 10 20", "test: unexpected argument 20"},
  };
  for (const auto& [line, text] : cases) {
    const auto refused = command(line);
    EXPECT_EQ(refused.status, 400) << line << ": " << refused.body;
    EXPECT_NE(refused.body.find(text), std::string::npos) << line << ": " << refused.body;
  }
  EXPECT_FALSE(std::filesystem::exists(marker)) << "a refused test ran";
  EXPECT_EQ(workers(), before);

  // The same script with good arguments does run: the cases above were refused for their
  // arguments alone.
  EXPECT_EQ(command("test touch.sh 5000").status, 200);
  EXPECT_TRUE(std::filesystem::exists(marker));
  stop_gracefully(service, kKey);
}

// It runs a program of the caller's choosing as the master's user: local by default.
TEST_F(TestCommandTest, IsRefusedToARemoteCallerAndListedInHelp) {
  const std::string marker = temp_dir() + "/ran";
  write_file("touch.sh", "#!/bin/sh\ntouch '" + marker + "'\n", true);
  auto& service = start_service({"--local-network", "none"});
  const auto refused = command("test touch.sh");
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_NE(refused.body.find("'test'"), std::string::npos) << refused.body;
  EXPECT_FALSE(std::filesystem::exists(marker)) << "a remote caller ran a test";
  stop_gracefully(service, kKey);

  auto& local = start_service();
  const auto help = command("help test");
  ASSERT_EQ(help.status, 200) << help.body;
  const json described = json::parse(help.body);
  EXPECT_EQ(described["usage"].get<std::string>().rfind("test testScript [timeout]", 0), 0u)
      << help.body;
  EXPECT_EQ(described["access"], "local");
  EXPECT_EQ(json::parse(command("help").body)["commands"]["test"]["access"], "local");
  stop_gracefully(local, kKey);
}

TEST_F(TestCommandTest, LibraryCodeReplacesTheBuiltIn) {
  // library_test_service registers on("test", ...), answering with its arguments: the script
  // named here does not exist, so the built-in would refuse it.
  auto& service = start_program(library_test_service_binary(), {json{{"accessKey", kKey},
                                                                     {"host", "127.0.0.1"},
                                                                     {"port", 0},
                                                                     {"workerCount", 1},
                                                                     {"cli", false}}
                                                                    .dump()});
  port_ = service.api_port();
  ASSERT_TRUE(service.wait_for("starting -> ready", 10s, "the worker ready"));
  const auto answer = command("test ./no-such-script.sh 100");
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(json::parse(answer.body), (json{{"customTest", {"./no-such-script.sh", 100}}}));
  // The override keeps the built-in's help and level, having declared neither.
  const json help = json::parse(command("help test").body);
  EXPECT_EQ(help["usage"].get<std::string>().rfind("test testScript [timeout]", 0), 0u) << help;
  EXPECT_EQ(help["access"], "local");
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0) << service.output();
}

}  // namespace
}  // namespace cservice::testing
