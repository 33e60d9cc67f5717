// The consoles and the CLI's answers (issue 10): an attached console's `exit`, the prompt on a
// terminal, --json whatever the outcome, and the CLI against an original (Node.js) master, played
// by tests/helpers/original_master.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>

namespace cservice::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey = "console-key-51c9";

class ConsoleTest : public IntegrationTest {
 protected:
  // A service with 2 ready workers and the API on a free loopback port.
  ServiceProcess& start_service() {
    auto& service = start({"--workers", "2", "--ready", "started", "--access-key", kKey, "--host",
                           "127.0.0.1", "--port", "0", test_worker_binary()});
    port_ = service.api_port();
    EXPECT_TRUE(service.wait_for_count("starting -> ready", 2, 10s, "2 workers ready"));
    return service;
  }
  // A second serve on the same port: a console for the first.
  ServiceProcess& attach(ServiceProcess::Stdin input) {
    return start({"--workers", "3", "--access-key", kKey, "--host", "127.0.0.1", "--port",
                  std::to_string(port_), test_worker_binary()},
                 {}, {}, input);
  }
  // Remote mode: `cservice LINE --json` with stdout held apart from stderr.
  ServiceProcess& remote_json(const std::string& line, int port, const std::string& key = kKey) {
    return start({line, "--access-key", key, "--host", "127.0.0.1", "--port", std::to_string(port),
                  "--json"},
                 {}, {}, ServiceProcess::Stdin::Null, ServiceProcess::Output::HeldStdout);
  }
  // How a remote_json() run ended: its exit status and the one line it printed on stdout,
  // parsed (the test fails if stdout held anything else).
  struct JsonRun {
    std::optional<int> status;
    json out;
  };
  static JsonRun finish(ServiceProcess& run) {
    const auto line = run.read_held_until(R"(^[\[{"n0-9].*$)", 10s, "the JSON answer on stdout");
    EXPECT_TRUE(wait_until([&run] { return is_dead(run.pid()); }, 10s)) << "still running";
    EXPECT_EQ(run.held_bytes(), 0u) << "more than one line on stdout";
    run.release_output();
    return {run.wait_exit(10s), line ? json::parse(line->at(0), nullptr, false) : json()};
  }

  int port_ = -1;
};

TEST_F(ConsoleTest, ExitInAnAttachedConsoleLeavesTheConsoleAndTheServiceRuns) {
  auto& service = start_service();
  for (const char* exit_line : {"exit now", "exit", "\"exit\" \"now\"", "'exit' now"}) {
    auto& console = attach(ServiceProcess::Stdin::Pipe);
    // Stdin stays open: `exit` alone ends the console; the line after it is never sent.
    console.write_stdin(std::string("workers\n") + exit_line + "\nversion\n");
    ASSERT_EQ(console.wait_exit(10s), 0) << exit_line << ":\n" << console.output();
    EXPECT_EQ(console.count("leaving the console; the service keeps running \\(shutdown all "
                            "stops it\\)"),
              1u)
        << console.output();
    EXPECT_EQ(console.count(R"("workers": \[)"), 1u) << console.output();
    EXPECT_EQ(console.count(R"("version": )"), 0u) << "a line after exit was sent";
    EXPECT_EQ(console.count("cservice> "), 0u) << "a prompt on a pipe";
    const auto workers = run_command(port_, kKey, "workers");
    EXPECT_EQ(workers.status, 200)
        << "after '" << exit_line << "' in a console: " << workers.body << "\n"
        << service.output();
  }
  EXPECT_FALSE(service.has_exited());
  stop_gracefully(service, kKey);
}

// With a key but no program, cservice is a console for the service on that port, or says there
// is none.
TEST_F(ConsoleTest, AKeyWithoutAProgramIsAConsoleForTheRunningService) {
  auto& service = start_service();
  auto& console = start({"--access-key", kKey, "--host", "127.0.0.1", "--port", std::to_string(port_)},
                        {}, {}, ServiceProcess::Stdin::Pipe);
  console.write_stdin("workers simple\nexit\n");
  ASSERT_EQ(console.wait_exit(10s), 0) << console.output();
  EXPECT_EQ(console.count(R"("workers": \[)"), 1u) << console.output();
  EXPECT_FALSE(service.has_exited());
  // A wrong key: the service is there and says no.
  auto& refused = start({"--access-key", "not-the-key", "--host", "127.0.0.1", "--port",
                         std::to_string(port_)},
                        {}, {}, ServiceProcess::Stdin::Pipe);
  EXPECT_EQ(refused.wait_exit(10s), 2) << refused.output();
  EXPECT_EQ(refused.count("the service on 127\\.0\\.0\\.1:\\d+ refused the access key \\(401\\)"), 1u)
      << refused.output();
  stop_gracefully(service, kKey);

  auto& alone = start({"--access-key", kKey, "--host", "127.0.0.1", "--port", std::to_string(port_)},
                      {}, {}, ServiceProcess::Stdin::Pipe);
  EXPECT_EQ(alone.wait_exit(10s), 2) << alone.output();
  EXPECT_EQ(alone.count("no program given, and no service to be a console for on 127\\.0\\.0\\.1:"), 1u)
      << alone.output();
}

// Only a service that answers our key is one to be a console for: another server on the port is
// an address in use (exit 2, nothing started), and a daemon is never a console.
TEST_F(ConsoleTest, APortHeldByAnotherServerOrAServiceForADaemonIsAnError) {
  auto& other = start_program(original_master_binary(), {"another-key"});
  const auto port = other.wait_for(R"(original master: listening on 127\.0\.0\.1:(\d+))", 5s,
                                   "the other server's port");
  ASSERT_TRUE(port);
  auto& refused = start({"--access-key", kKey, "--host", "127.0.0.1", "--port", port->at(1),
                         test_worker_binary()});
  EXPECT_EQ(refused.wait_exit(10s), 2) << refused.output();
  EXPECT_EQ(refused.count("this is a console"), 0u) << refused.output();
  EXPECT_EQ(refused.count("starting -> "), 0u) << "a worker started: " << refused.output();
  other.signal(SIGTERM);
  EXPECT_TRUE(other.wait_exit(5s));

  auto& service = start_service();
  auto& daemon = start({"--daemon", "--pid-file", temp_dir() + "/d.pid", "--log-file",
                        temp_dir() + "/d.log", "--access-key", kKey, "--host", "127.0.0.1",
                        "--port", std::to_string(port_), test_worker_binary()});
  EXPECT_EQ(daemon.wait_exit(10s), 2) << daemon.output();
  EXPECT_EQ(daemon.count("a daemon cannot be its console"), 1u) << daemon.output();
  stop_gracefully(service, kKey);
}

// A directory or a plain file named like a command does not take the command over.
TEST_F(ConsoleTest, AFileNamedLikeACommandDoesNotTakeItOver) {
  auto& service = start_service();
  std::filesystem::create_directory(temp_dir() + "/workers");
  write_file("health", "not a program\n", false);
  for (const char* line : {"workers", "health"}) {
    auto& remote = start({line, "--access-key", kKey, "--host", "127.0.0.1", "--port",
                          std::to_string(port_)},
                         {}, temp_dir());
    EXPECT_EQ(remote.wait_exit(10s), 0) << line << ": " << remote.output();
  }
  stop_gracefully(service, kKey);
}

TEST_F(ConsoleTest, ShutdownAllFromAnAttachedConsoleStopsTheService) {
  auto& service = start_service();
  auto& console = attach(ServiceProcess::Stdin::Pipe);
  console.write_stdin("shutdown all\n");
  console.close_stdin();
  EXPECT_EQ(console.wait_exit(10s), 0) << console.output();
  EXPECT_EQ(service.wait_exit(15s), 0) << service.output();
}

TEST_F(ConsoleTest, AttachedConsoleOnATerminalShowsAPrompt) {
  auto& service = start_service();
  auto& console = attach(ServiceProcess::Stdin::Terminal);
  console.write_stdin("workers\n");
  // The prompt shown at the start is followed by the answer.
  ASSERT_TRUE(console.wait_for(R"(^cservice> \{$)", 10s, "the prompt, then the answer"));
  console.write_stdin("exit\n");
  ASSERT_EQ(console.wait_exit(10s), 0) << console.output();
  // The prompt shown after the answer is followed by the notice.
  EXPECT_EQ(console.count("^cservice> cservice: leaving the console"), 1u) << console.output();
  stop_gracefully(service, kKey);
}

TEST_F(ConsoleTest, MastersOwnConsoleShowsAPromptAfterEachAnswer) {
  auto& service = start({"--workers", "1", "--ready", "started", "--access-key", kKey, "--host",
                         "127.0.0.1", "--port", "0", test_worker_binary()},
                        {}, {}, ServiceProcess::Stdin::Terminal);
  ASSERT_TRUE(service.wait_for("console: type a command", 10s, "the console"));
  service.write_stdin("version\n");
  ASSERT_TRUE(service.wait_for(R"("version": )", 10s, "the answer"));
  service.write_stdin("workers simple\n");
  ASSERT_TRUE(service.wait_for(R"("state": )", 10s, "the second answer"));
  service.write_stdin("exit now\n");
  EXPECT_EQ(service.wait_exit(10s), 0);
  // One at the start and one after each answer: the first two are followed by more output.
  EXPECT_GE(service.count("cservice> "), 2u) << service.output();
}

TEST_F(ConsoleTest, JsonPrintsTheAnswerOnStdoutWhateverTheOutcome) {
  auto& service = start_service();
  auto& ok = remote_json("workers", port_);
  auto ok_run = finish(ok);
  EXPECT_EQ(ok_run.status, 0) << ok.output();
  EXPECT_EQ(ok_run.out["workers"].size(), 2u);

  auto& unknown = remote_json("no-such-command", port_);
  auto unknown_run = finish(unknown);
  EXPECT_EQ(unknown_run.status, 1) << unknown.output();
  json& error = unknown_run.out;
  ASSERT_TRUE(error.is_object()) << unknown.output();
  EXPECT_EQ(error["status"], 404);
  ASSERT_TRUE(error["error"].is_string());
  const auto text = error["error"].get<std::string>();
  EXPECT_NE(text.find("no-such-command"), std::string::npos) << text;
  EXPECT_FALSE(text.ends_with("\n")) << text;
  // The readable line on stderr, once, with no blank line after it.
  EXPECT_EQ(unknown.count("^error: .*no-such-command.* \\(404\\)$"), 1u) << unknown.output();
  EXPECT_EQ(unknown.count("^$"), 0u) << unknown.output();

  auto& refused = remote_json("workers", port_, "wrong-key");
  auto refused_run = finish(refused);
  EXPECT_EQ(refused_run.status, 1) << refused.output();
  EXPECT_EQ(refused_run.out["status"], 401);
  stop_gracefully(service, kKey);

  auto& nobody = remote_json("workers", 1);
  auto nobody_run = finish(nobody);
  EXPECT_EQ(nobody_run.status, 1) << nobody.output();
  const json& none = nobody_run.out;
  EXPECT_EQ(none["status"], 503) << nobody.output();
  EXPECT_NE(none.value("error", "").find("no service answers on 127.0.0.1:1"), std::string::npos);

  // Bad usage: exit status 2, and still a JSON answer.
  auto& bad_url = start({"workers", "--access-key", kKey, "--url", "ftp://127.0.0.1:1", "--json"}, {},
                        {}, ServiceProcess::Stdin::Null, ServiceProcess::Output::HeldStdout);
  auto bad_url_run = finish(bad_url);
  EXPECT_EQ(bad_url_run.status, 2) << bad_url.output();
  EXPECT_EQ(bad_url_run.out["status"], 400) << bad_url.output();
  EXPECT_NE(bad_url_run.out.value("error", "").find("bad --url"), std::string::npos);
}

class OriginalMasterTest : public ConsoleTest {
 protected:
  void SetUp() override {
    ConsoleTest::SetUp();
    original_ = &start_program(original_master_binary(), {kKey});
    const auto port = original_->wait_for(R"(original master: listening on 127\.0\.0\.1:(\d+))", 5s,
                                          "the stand-in's port");
    ASSERT_TRUE(port);
    port_ = std::stoi(port->at(1));
  }
  void TearDown() override {
    if (original_ != nullptr) {
      original_->signal(SIGTERM);
      EXPECT_TRUE(original_->wait_exit(5s));
    }
    ConsoleTest::TearDown();
  }
  // Waits for the stand-in to report the next request.
  bool saw(const std::string& request) {
    return original_->wait_for("^request " + request + "$", 5s, request).has_value();
  }

  ServiceProcess* original_ = nullptr;
};

TEST_F(OriginalMasterTest, TheCliRetriesWithTheKeyInTheQueryAndSucceeds) {
  auto& run = start(
      {"version", "--access-key", kKey, "--host", "127.0.0.1", "--port", std::to_string(port_)});
  ASSERT_EQ(run.wait_exit(10s), 0) << run.output();
  EXPECT_EQ(run.count("^1\\.2\\.3$"), 1u) << "the string result as its text:\n" << run.output();
  // The header alone was refused; the key went in the query only the second time.
  EXPECT_TRUE(saw("POST query=no header=yes version"));
  EXPECT_TRUE(saw("POST query=yes header=no version"));
  EXPECT_EQ(original_->count("^request "), 2u) << original_->output();
}

TEST_F(OriginalMasterTest, TheCliReadsTheOriginalsAnswers) {
  auto& workers = remote_json("workers", port_);
  auto workers_run = finish(workers);
  EXPECT_EQ(workers_run.status, 0) << workers.output();
  EXPECT_EQ(workers_run.out["workers"][0]["pid"], 4242);

  auto& quiet = remote_json("quiet", port_);
  auto quiet_run = finish(quiet);
  EXPECT_EQ(quiet_run.status, 0) << quiet.output();
  EXPECT_TRUE(quiet_run.out.is_null()) << "\"No data\" is no result";

  auto& unknown = remote_json("no-such-command", port_);
  auto unknown_run = finish(unknown);
  EXPECT_EQ(unknown_run.status, 1) << unknown.output();
  EXPECT_EQ(unknown_run.out, json({{"status", 404}, {"error", "Not found. Try /help"}}));

  auto& failed =
      start({"fail", "--access-key", kKey, "--host", "127.0.0.1", "--port", std::to_string(port_)});
  ASSERT_EQ(failed.wait_exit(10s), 1) << failed.output();
  EXPECT_EQ(failed.count("^error: something broke \\(400\\)$"), 1u) << failed.output();

  auto& refused = remote_json("workers", port_, "wrong-key");
  auto refused_run = finish(refused);
  EXPECT_EQ(refused_run.status, 1) << refused.output();
  EXPECT_EQ(refused_run.out, json({{"status", 401}, {"error", "Not authorized"}}));
}

TEST_F(OriginalMasterTest, AnAttachedConsoleDrivesTheOriginal) {
  auto& console = attach(ServiceProcess::Stdin::Pipe);
  console.write_stdin("version\nexit\n");
  ASSERT_EQ(console.wait_exit(10s), 0) << console.output();
  EXPECT_EQ(console.count("this is a console for it"), 1u) << console.output();
  EXPECT_EQ(console.count("^1\\.2\\.3$"), 1u) << console.output();
  EXPECT_EQ(console.count("workerStart"), 0u) << "the console started workers of its own";
}

}  // namespace
}  // namespace cservice::testing
