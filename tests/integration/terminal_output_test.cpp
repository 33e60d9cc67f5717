// Output for people (issue 11, point 8): on a terminal (a real pty), `workers`, `info` and
// `health` are aligned tables with coloured states, from the CLI and the master's console;
// NO_COLOR, TERM=dumb and --color never remove the colours; a pipe and --json keep the JSON.
// And `cservice completion bash`, loaded into a real bash, completes commands and flags.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <regex>
#include <set>

namespace cservice::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey = "terminal-key-7d21";
constexpr const char* kEsc = "\x1b";

class TerminalOutputTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    // The runs below get the test's environment: start from one without colour settings (a
    // variable given to a run is then the only one of its name).
    ::unsetenv("NO_COLOR");
    ::unsetenv("TERM");
  }

  ServiceProcess& start_service(ServiceProcess::Stdin input = ServiceProcess::Stdin::Null,
                                ServiceProcess::Output output = ServiceProcess::Output::Read) {
    auto& service = start({"--workers", "2", "--ready", "started", "--access-key", kKey, "--host",
                           "127.0.0.1", "--port", "0", test_worker_binary()},
                          {{"TERM", "xterm"}}, {}, input, output);
    port_ = service.api_port();
    EXPECT_TRUE(service.wait_for_count("starting -> ready", 2, 10s, "2 workers ready"));
    return service;
  }

  // `cservice LINE` against the service, its stdout and stderr on a terminal (or a pipe);
  // returns its whole output once it has exited with status 0.
  std::string cli(const std::string& line, std::map<std::string, std::string> env,
                  ServiceProcess::Output output = ServiceProcess::Output::Terminal,
                  std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {line, "--access-key", kKey, "--host", "127.0.0.1", "--port",
                                     std::to_string(port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    auto& run = start(args, std::move(env), {}, ServiceProcess::Stdin::Null, output);
    EXPECT_EQ(run.wait_exit(20s), 0) << line << ":\n" << run.output();
    return run.output();
  }

  // The workers' pids from the REST API.
  std::set<std::string> worker_pids() {
    const auto answer = run_command(port_, kKey, "workers");
    const json parsed = json::parse(answer.body, nullptr, false);
    EXPECT_TRUE(parsed.contains("workers")) << answer.status << " " << answer.body;
    std::set<std::string> pids;
    if (!parsed.contains("workers")) return pids;
    for (const auto& worker : parsed["workers"]) {
      pids.insert(std::to_string(worker["pid"].get<int>()));
    }
    return pids;
  }

  int port_ = -1;
};

// The pids of the table rows "ID PID test_worker STATE ..." (STATE possibly coloured) in
// `output`, each with its state as shown (escapes and all).
std::map<std::string, std::string> table_rows(const std::string& output) {
  static const std::regex row(R"((^|\n)\d+  +(\d+)  +test_worker  +(\S+))");
  std::map<std::string, std::string> rows;
  for (auto it = std::sregex_iterator(output.begin(), output.end(), row);
       it != std::sregex_iterator(); ++it) {
    rows[(*it)[2]] = (*it)[3];
  }
  return rows;
}

TEST_F(TerminalOutputTest, WorkersOnATerminalIsATableWithColouredStates) {
  auto& service = start_service();
  const std::string out = cli("workers", {{"TERM", "xterm"}});
  // A bold header, one row per worker, with its pid and a green "ready".
  EXPECT_NE(out.find("\x1b[1mID\x1b[0m  \x1b[1mPID\x1b[0m"), std::string::npos) << out;
  for (const char* title : {"PROGRAM", "STATE", "REASON", "UPTIME", "RESTARTS"}) {
    EXPECT_NE(out.find(std::string("\x1b[1m") + title + "\x1b[0m"), std::string::npos)
        << title << " missing:\n" << out;
  }
  const auto rows = table_rows(out);
  ASSERT_EQ(rows.size(), 2u) << out;
  std::set<std::string> pids;
  for (const auto& [pid, state] : rows) {
    pids.insert(pid);
    EXPECT_EQ(state, "\x1b[32mready\x1b[0m") << out;
  }
  EXPECT_EQ(pids, worker_pids());
  EXPECT_EQ(out.find('{'), std::string::npos) << "JSON on a terminal:\n" << out;

  // `workers details` adds memory and CPU in human units.
  const std::string details = cli("workers details", {{"TERM", "xterm"}});
  EXPECT_NE(details.find("\x1b[1mMEMORY\x1b[0m"), std::string::npos) << details;
  EXPECT_TRUE(std::regex_search(details, std::regex(R"(\d+\.\d (KiB|MiB)  +\d+\.\d s)")))
      << details;
  stop_gracefully(service, kKey);
}

TEST_F(TerminalOutputTest, NoColorDumbTerminalsAndColorNeverKeepTheTableWithoutColours) {
  auto& service = start_service();
  const std::vector<std::pair<std::map<std::string, std::string>, std::vector<std::string>>> runs =
      {{{{"TERM", "xterm"}, {"NO_COLOR", "1"}}, {}},
       {{{"TERM", "dumb"}}, {}},
       {{{"TERM", "xterm"}}, {"--color", "never"}}};
  for (const auto& [env, extra] : runs) {
    const std::string out = cli("workers", env, ServiceProcess::Output::Terminal, extra);
    EXPECT_EQ(out.find(kEsc), std::string::npos) << "colours in:\n" << out;
    EXPECT_TRUE(std::regex_search(out, std::regex(R"((^|\n)ID  +PID  +PROGRAM  +STATE)")))
        << out;
    const auto rows = table_rows(out);
    EXPECT_EQ(rows.size(), 2u) << out;
    for (const auto& [pid, state] : rows) EXPECT_EQ(state, "ready") << out;
  }
  stop_gracefully(service, kKey);
}

TEST_F(TerminalOutputTest, PipesAndJsonKeepTheJson) {
  auto& service = start_service();
  // A pipe, even with --color always: today's indented JSON, no table, no colour.
  const std::string piped =
      cli("workers", {{"TERM", "xterm"}}, ServiceProcess::Output::Read, {"--color", "always"});
  const json parsed = json::parse(piped, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << piped;
  EXPECT_EQ(parsed["workers"].size(), 2u) << piped;
  EXPECT_EQ(piped.find(kEsc), std::string::npos) << piped;
  // --json on a terminal: one line of JSON.
  const std::string on_terminal = cli("health", {{"TERM", "xterm"}},
                                      ServiceProcess::Output::Terminal, {"--json"});
  EXPECT_EQ(json::parse(on_terminal, nullptr, false), json({{"health", "ok"}})) << on_terminal;
  // Other commands keep their output on a terminal.
  const std::string version = cli("version", {{"TERM", "xterm"}});
  EXPECT_FALSE(json::parse(version, nullptr, false).is_discarded()) << version;
  stop_gracefully(service, kKey);
}

TEST_F(TerminalOutputTest, InfoAndHealthOnATerminalAreNamesAndValues) {
  auto& service = start_service();
  const std::string health = cli("health", {{"TERM", "xterm"}});
  EXPECT_NE(health.find("health  \x1b[32mok\x1b[0m"), std::string::npos) << health;
  const std::string info = cli("info", {{"TERM", "xterm"}});
  EXPECT_TRUE(std::regex_search(
      info, std::regex("(^|\\n)pid  +" + std::to_string(service.pid()) + "\\n")))
      << info;
  EXPECT_TRUE(std::regex_search(info, std::regex(R"((^|\n)workersByState  +ready 2\n)"))) << info;
  EXPECT_TRUE(std::regex_search(info, std::regex(R"((^|\n)uptime  +\d+\.\d s\n)"))) << info;
  stop_gracefully(service, kKey);
}

TEST_F(TerminalOutputTest, TheMastersConsoleOnATerminalShowsTheTable) {
  auto& service =
      start_service(ServiceProcess::Stdin::Terminal, ServiceProcess::Output::Terminal);
  const auto pids = worker_pids();
  service.write_stdin("workers\n");
  ASSERT_TRUE(service.wait_for("\x1b\\[1mSTATE", 10s, "the table's header"));
  ASSERT_TRUE(service.wait_for_count(R"(^\d+  +\d+  +test_worker  +\x1b\[32mready)", 2, 10s,
                                     "a row per worker"));
  const auto rows = table_rows(service.output());
  std::set<std::string> shown;
  for (const auto& [pid, state] : rows) shown.insert(pid);
  EXPECT_EQ(shown, pids) << service.output();
  stop_gracefully(service, kKey);
}

// Completion: bash with the script loaded, asked as it asks when TAB is pressed.
class CompletionTest : public IntegrationTest {
 protected:
  // What _cservice proposes for the words `words` (the last one being completed), one per line,
  // sorted, run in the test's empty temp directory; no service is running.
  std::vector<std::string> complete(const std::string& words) {
    const std::string script =
        "cd '" + temp_dir() + "' || exit 3; source <('" + cservice_binary() +
        "' completion bash); COMP_WORDS=(" + words +
        "); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _cservice; "
        "printf '%s\\n' \"${COMPREPLY[@]}\" | sort";
    ServiceProcess bash(Program{"/bin/bash"}, {"--norc", "--noprofile", "-c", script});
    EXPECT_EQ(bash.wait_exit(20s), 0) << words << ":\n" << bash.output();
    std::vector<std::string> out;
    for (const auto& line : bash.lines()) {
      if (!line.empty()) out.push_back(line);
    }
    return out;
  }
};

using Words = std::vector<std::string>;

TEST_F(CompletionTest, TheScriptRegistersForCserviceAndCserviced) {
  ServiceProcess bash(Program{"/bin/bash"},
                      {"--norc", "--noprofile", "-c",
                       "source <('" + cservice_binary() + "' completion bash) && complete -p"});
  ASSERT_EQ(bash.wait_exit(20s), 0) << bash.output();
  EXPECT_EQ(bash.count("^complete -F _cservice cservice$"), 1u) << bash.output();
  EXPECT_EQ(bash.count("^complete -F _cservice cserviced$"), 1u) << bash.output();
}

TEST_F(CompletionTest, CommandsFromTheBuiltInTable) {
  EXPECT_EQ(complete("cservice res"), Words({"restart"}));
  EXPECT_EQ(complete("cservice --port 11987 wor"), Words({"workers"}));
  const Words all = complete("cservice ''");
  for (const char* name : {"help", "workers", "health", "info", "version", "restart", "upgrade",
                           "shutdown", "start", "exit", "test", "rollback", "operations", "wait",
                           "cancel", "completion"}) {
    EXPECT_NE(std::find(all.begin(), all.end(), name), all.end()) << name;
  }
  EXPECT_EQ(complete("cservice completion ''"), Words({"bash"}));
  EXPECT_EQ(complete("cservice --run ro"), Words({"rollback"}));
}

TEST_F(CompletionTest, FlagsFromTheOptionTable) {
  EXPECT_EQ(complete("cservice --acc"), Words({"--access-key"}));
  EXPECT_EQ(complete("cservice --worker-c"), Words({"--worker-count"}));
  EXPECT_EQ(complete("cservice workers --col"), Words({"--color"}));
  EXPECT_EQ(complete("cservice workers --color ''"), Words({"always", "auto", "never"}));
  EXPECT_EQ(complete("cservice workers --color = a"), Words({"always", "auto"}));
  EXPECT_EQ(complete("cservice --ready n"), Words({"notify"}));
  EXPECT_EQ(complete("cservice --port ''"), Words({}));  // a number: nothing to propose
}

TEST_F(CompletionTest, ProgramsAndArgumentsAreFiles) {
  write_file("server.sh", "#!/bin/sh\n", true);
  EXPECT_EQ(complete("cservice ./ser"), Words({"./server.sh"}));
  EXPECT_EQ(complete("cservice ser"), Words({"server.sh"}));  // no command starts so
  EXPECT_EQ(complete("cservice ./server.sh -- res"), Words({}));
  EXPECT_EQ(complete("cservice ./server.sh -- ser"), Words({"server.sh"}));
}

}  // namespace
}  // namespace cservice::testing
