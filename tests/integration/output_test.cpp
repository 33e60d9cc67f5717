// Relaying of workers' output: whole lines, with a prefix, none lost, none torn.

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "http_client.hpp"
#include "integration_test.hpp"

namespace cservice::testing {
namespace {

class OutputTest : public IntegrationTest {};

constexpr const char* kKey = "output-test-key";

// The master's resident memory, from /proc/PID/status; 0 if it is gone.
std::size_t rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) return std::stoul(line.substr(6));
  }
  return 0;
}

// The pid of each worker, by id, from the REST API; empty if it did not answer.
std::map<int, pid_t> worker_pids(int port) {
  const HttpAnswer answer = run_command(port, kKey, "workers", 5s);
  std::map<int, pid_t> pids;
  if (answer.status != 200) return pids;
  const auto parsed = nlohmann::json::parse(answer.body, nullptr, false);
  if (parsed.is_discarded()) return pids;
  for (const auto& worker : parsed["workers"]) {
    if (worker.contains("pid") && worker["pid"].is_number()) {
      pids[worker["id"].get<int>()] = worker["pid"].get<pid_t>();
    }
  }
  return pids;
}

// "worker ID[PID]: flood line N" -> PID and N, without std::regex (hundreds of thousands of
// lines). False for anything else.
bool parse_flood_line(std::string_view line, pid_t& pid, long& number) {
  const auto open = line.find('[');
  const auto close = line.find("]: flood line ");
  if (!line.starts_with("worker ") || open == std::string_view::npos ||
      close == std::string_view::npos || close < open) {
    return false;
  }
  const std::string_view pid_text = line.substr(open + 1, close - open - 1);
  const std::string_view number_text = line.substr(close + std::strlen("]: flood line "));
  const auto [p, pid_error] = std::from_chars(pid_text.begin(), pid_text.end(), pid);
  const auto [n, number_error] = std::from_chars(number_text.begin(), number_text.end(), number);
  return pid_error == std::errc() && p == pid_text.end() && number_error == std::errc() &&
         n == number_text.end();
}

// Workers flood stdout while the test does not read it: the master stays responsive and small,
// then every line arrives, in order, none torn.
void flood_while_unread(IntegrationTest& test, ServiceProcess::Output output,
                        ServiceProcess& service) {
  (void)test;
  int port = -1;
  if (output == ServiceProcess::Output::HeldAll) {
    // Only the master's first lines: workers start after the REST API is up.
    const auto match =
        service.read_held_until(R"(control: REST API on http://.*:(\d+)/cli)", 10s, "the REST API");
    ASSERT_TRUE(match);
    port = std::stoi((*match)[1]);
  } else {
    port = service.api_port();
  }
  ASSERT_GT(port, 0);

  // Stalled: the pipe the master writes to is full and stays so while the test holds it. Full
  // is not always its capacity (a write that does not fit in the last page takes a new one, so
  // the pages may run out first): it is more than half of it, and no longer growing.
  std::size_t held_seen = 0;
  auto held_changed = Clock::now();
  ASSERT_TRUE(wait_until(
      [&] {
        const std::size_t now_held = service.held_bytes();
        if (now_held != held_seen) {
          held_seen = now_held;
          held_changed = Clock::now();
        }
        return now_held > service.held_capacity() / 2 && Clock::now() - held_changed > 300ms;
      },
      10s))
      << "the held pipe never filled: " << service.held_bytes() << " bytes";
  [[maybe_unused]] const std::size_t rss_stalled = rss_kib(service.pid());

  std::map<int, pid_t> before;
  ASSERT_TRUE(wait_until([&] { return (before = worker_pids(port)).size() == 3; }, 10s))
      << "the REST API did not list 3 workers while stdout was not read";
  // The REST API keeps answering, each request well within its bound.
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(run_command(port, kKey, "health", 5s).status, 200) << "request " << i;
  }
  // A killed worker is seen, reaped and replaced while the output is still not read.
  ASSERT_EQ(::kill(before[1], SIGKILL), 0);
  std::map<int, pid_t> after;
  ASSERT_TRUE(wait_until(
      [&] {
        after = worker_pids(port);
        return after.contains(1) && after[1] != before[1];
      },
      15s))
      << "worker 1 (pid " << before[1] << ") was not replaced while stdout was not read";
  EXPECT_GT(service.held_bytes(), 0u);  // still unread all along

  // Memory stays where it was, whatever the workers write meanwhile.
  [[maybe_unused]] const std::size_t rss_later = rss_kib(service.pid());
#if !defined(__SANITIZE_ADDRESS__)
  // (Under ASan the allocator's quarantine keeps freed memory a while: RSS says little there.)
  EXPECT_LT(rss_later, rss_stalled + 4096) << "RSS grew from " << rss_stalled << " KiB to "
                                           << rss_later << " KiB while the output was not read";
  EXPECT_LT(rss_later, 32u * 1024) << "KiB of RSS while the output was not read";
#endif

  // Read at last: every line arrives.
  service.release_output();
  ASSERT_TRUE(service.wait_for_count(R"(flood line 50000$)", 3, 60s,
                                     "the three workers that were not killed finish"));
  service.signal(SIGTERM);
  ASSERT_EQ(service.wait_exit(30s), 0);

  std::map<pid_t, long> last_seen;  // per worker process: the last line number
  for (const auto& line : service.lines()) {
    if (line.starts_with("cservice: ")) continue;
    pid_t pid = 0;
    long number = 0;
    ASSERT_TRUE(parse_flood_line(line, pid, number)) << "torn or foreign line: '" << line << "'";
    long& last = last_seen[pid];
    ASSERT_EQ(number, last + 1) << "line lost or out of order: " << line;
    last = number;
  }
  EXPECT_EQ(last_seen.size(), 4u);  // three original workers, one killed, its replacement
  for (const auto& [pid, last] : last_seen) {
    if (pid == before[1]) {
      EXPECT_GT(last, 0);  // killed somewhere in its flood: all it wrote, nothing more
    } else {
      EXPECT_EQ(last, 50000) << "pid " << pid;
    }
  }
}

std::vector<std::string> flood_args() {
  return {"--workers", "3", "--access-key",       kKey, "--host",  "127.0.0.1",
          "--port",    "0", test_worker_binary(), "--", "--flood", "50000"};
}

TEST_F(OutputTest, AnUnreadStdoutStopsNeitherTheApiNorRestartsAndLosesNoLine) {
  auto& service =
      start(flood_args(), {}, {}, ServiceProcess::Stdin::Null, ServiceProcess::Output::HeldStdout);
  flood_while_unread(*this, ServiceProcess::Output::HeldStdout, service);
}

TEST_F(OutputTest, UnreadStdoutAndStderrStopNeitherTheApiNorRestartsAndLoseNoWorkerLine) {
  auto& service =
      start(flood_args(), {}, {}, ServiceProcess::Stdin::Null, ServiceProcess::Output::HeldAll);
  flood_while_unread(*this, ServiceProcess::Output::HeldAll, service);
}

TEST_F(OutputTest, BurstsOfCrashingWorkersArriveCompleteAndUntorn) {
  constexpr int kLines = 10000;
  constexpr int kWorkers = 4;
  auto& service = start({"--workers", std::to_string(kWorkers), "--restart-on-failure", "false",
                         test_worker_binary(), "--", "--burst", std::to_string(kLines)});
  ASSERT_TRUE(service.wait_for_count("event workerExit", kWorkers, 20s, "every worker crashed"));
  service.signal(SIGTERM);
  ASSERT_EQ(service.wait_exit(20s), 0);

  const std::regex line_re(R"(^worker (\d+)\[(\d+)\]: burst line (\d+) of 10000$)");
  std::map<std::string, int> last_seen;  // per worker: the last line number, to check order
  int relayed = 0;
  for (const auto& line : service.lines()) {
    if (line.starts_with("cservice: ")) continue;
    std::smatch match;
    ASSERT_TRUE(std::regex_match(line, match, line_re)) << "torn or foreign line: '" << line << "'";
    int& last = last_seen[match[1].str()];
    ASSERT_EQ(std::stoi(match[3].str()), last + 1) << "line lost or out of order: " << line;
    last = std::stoi(match[3].str());
    ++relayed;
  }
  EXPECT_EQ(relayed, kLines * kWorkers);
  for (const auto& [worker, last] : last_seen) EXPECT_EQ(last, kLines) << "worker " << worker;
}

TEST_F(OutputTest, StderrIsRelayedWithTheWorkerPrefix) {
  auto& service = start({"--workers", "1", "--restart-on-failure", "false", test_worker_binary(),
                         "--", "--crash-after", "0"});
  ASSERT_TRUE(service.wait_for(R"(^worker 1\[\d+\]: test_worker: crashing as asked$)", 10s,
                               "the worker's stderr line"));
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(OutputTest, SilentRelaysNothing) {
  auto& service = start({"--workers", "1", "--silent", "--restart-on-failure", "false",
                         test_worker_binary(), "--", "--burst", "100"});
  ASSERT_TRUE(service.wait_for("event workerExit", 10s, "the worker's exit"));
  service.signal(SIGTERM);
  ASSERT_EQ(service.wait_exit(10s), 0);
  EXPECT_EQ(service.count("burst line"), 0u);
}

// A worker's line with a colour, a carriage return, bytes that are not UTF-8, U+202E and a NUL;
// then one ending in CRLF on stderr and one with a tab. Written by printf from a shell.
constexpr const char* kHostileScript =
    R"(printf 'out \033[31mred\r\377\376 \342\200\256 line\000end\n'; )"
    R"(printf 'err \033[2K\033[1A\r\n' >&2; printf 'tab\there\n')";

class HostileOutputTest : public IntegrationTest {
 protected:
  // Runs the hostile worker with `flags`; its relayed lines, prefix checked and taken off.
  std::vector<std::string> relayed(const std::vector<std::string>& flags) {
    std::vector<std::string> args = {"--workers", "1", "--restart-on-failure", "false"};
    args.insert(args.end(), flags.begin(), flags.end());
    for (const char* arg : {"/bin/sh", "--", "-c", kHostileScript}) args.emplace_back(arg);
    auto& service = start(args);
    if (!service.wait_for("event workerExit", 10s, "the worker's exit")) return {};
    service.signal(SIGTERM);
    EXPECT_EQ(service.wait_exit(10s), 0);
    const std::regex prefix(R"(^worker 1\[\d+\]: )");
    std::vector<std::string> lines;
    for (const auto& line : service.lines()) {
      std::smatch match;
      if (std::regex_search(line, match, prefix)) lines.push_back(match.suffix().str());
    }
    return lines;
  }
};

bool contains(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

TEST_F(HostileOutputTest, ControlCharactersAndBadBytesOfAWorkerAreEscapedOnItsOwnLine) {
  const auto lines = relayed({});
  const std::string relayed_text = ::testing::PrintToString(lines);
  // Each on one line behind the prefix: the escapes are text, nothing moves the cursor.
  EXPECT_TRUE(contains(lines, R"(out \x1b[31mred\r\xff\xfe \u202e line\0end)"))
      << "stdout line not escaped; relayed: " << relayed_text;
  EXPECT_TRUE(contains(lines, R"(err \x1b[2K\x1b[1A)"))
      << "stderr line not escaped, or its CRLF's CR kept; relayed: " << relayed_text;
  EXPECT_TRUE(contains(lines, "tab\there")) << "a tab stays a tab; relayed: " << relayed_text;
  EXPECT_EQ(lines.size(), 3u) << relayed_text;
  for (const auto& line : lines) {
    EXPECT_NO_THROW((void)nlohmann::json(line).dump()) << "not UTF-8: " << line;
  }
}

TEST_F(HostileOutputTest, RawOutputRelaysTheBytesAsWritten) {
  using namespace std::string_literals;
  const auto lines = relayed({"--raw-output"});
  const std::string relayed_text = ::testing::PrintToString(lines);
  EXPECT_TRUE(contains(lines, "out \x1b[31mred\r\xff\xfe \xe2\x80\xae line\0end"s)) << relayed_text;
  EXPECT_TRUE(contains(lines, "err \x1b[2K\x1b[1A\r")) << relayed_text;
  EXPECT_TRUE(contains(lines, "tab\there")) << relayed_text;
}

}  // namespace
}  // namespace cservice::testing
