// The service's log lines as an operator's tools see them: a time and a level on every line of
// the master and of its workers, one JSON object a line with --log-format json, syslog priorities
// when stderr is the journal, and a daemon's log file reopened on SIGUSR1 (rename-then-signal
// rotation, by hand and by logrotate) without losing or tearing a line of a flooding worker.

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "integration_test.hpp"

namespace cservice::testing {
namespace {

using nlohmann::json;

// time, level, who: the master ("cservice") or a worker ("worker 1[4242]").
const char* const kTextLine =
    R"(^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.\d{3}Z (info|warn|error) (cservice|worker \d+\[\d+\]): )";

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::size_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
}

// Seconds since the epoch of a matched kTextLine's time, read as UTC.
std::time_t utc_seconds(const std::smatch& match) {
  std::tm utc{};
  utc.tm_year = std::stoi(match[1].str()) - 1900;
  utc.tm_mon = std::stoi(match[2].str()) - 1;
  utc.tm_mday = std::stoi(match[3].str());
  utc.tm_hour = std::stoi(match[4].str());
  utc.tm_min = std::stoi(match[5].str());
  utc.tm_sec = std::stoi(match[6].str());
  return ::timegm(&utc);
}

class LogLinesTest : public IntegrationTest {
 protected:
  // Starts a daemon running `worker_args` as its one worker; its pid.
  pid_t start_daemon(std::vector<std::string> worker_args) {
    std::vector<std::string> args = {"--daemon", "--pid-file", pid_file_, "--log-file", log_file_,
                                     "--workers", "1", test_worker_binary(), "--"};
    args.insert(args.end(), worker_args.begin(), worker_args.end());
    auto& starter = start(args);
    EXPECT_EQ(starter.wait_exit(10s), 0) << starter.output();
    const auto running =
        starter.wait_for(R"(running in the background: pid (\d+))", 1s, "the daemon's report");
    return running ? std::stoi((*running)[1]) : -1;
  }
  void stop_daemon(pid_t daemon) {
    ASSERT_EQ(::kill(daemon, SIGTERM), 0);
    EXPECT_TRUE(wait_until([&] { return is_dead(daemon); }, 10s)) << "daemon " << daemon;
  }
  bool file_has(const std::string& path, const std::string& text, std::chrono::milliseconds wait) {
    return wait_until([&] { return read_file(path).find(text) != std::string::npos; }, wait);
  }

  void SetUp() override {
    IntegrationTest::SetUp();
    pid_file_ = temp_dir() + "/service.pid";
    log_file_ = temp_dir() + "/service.log";
  }

  std::string pid_file_;
  std::string log_file_;
};

TEST_F(LogLinesTest, EveryLineStartsWithTheTimeInUtcAndALevel) {
  const std::time_t before = std::time(nullptr);
  // JOURNAL_STREAM alone proves nothing (it is inherited): stderr here is a pipe of the test's.
  auto& service = start({"--workers", "1", test_worker_binary(), "--", "--print-env"},
                        {{"JOURNAL_STREAM", "1:1"}});
  ASSERT_TRUE(service.wait_for(R"(^worker 1\[\d+\]: cwd=)", 10s, "the worker's lines"));
  stop_gracefully(service);
  const std::time_t after = std::time(nullptr);

  const std::regex stamped(kTextLine);
  std::size_t master = 0;
  std::size_t worker = 0;
  for (const auto& line : service.raw_lines()) {
    std::smatch match;
    ASSERT_TRUE(std::regex_search(line, match, stamped)) << "not stamped: '" << line << "'";
    const std::time_t at = utc_seconds(match);
    EXPECT_GE(at, before - 1) << line;
    EXPECT_LE(at, after + 1) << line;
    ++(match[8].str() == "cservice" ? master : worker);
  }
  EXPECT_GE(master, 3u) << service.output();
  EXPECT_GE(worker, 3u) << service.output();
  EXPECT_EQ(service.count(R"(^cservice: cservice .* starting 1 worker\(s\))"), 1u)
      << service.output();
}

TEST_F(LogLinesTest, JsonFormatGivesOneValidObjectALineWhateverTheWorkerWrites) {
  // A value with a terminal escape and a byte that is not UTF-8, printed by the worker.
  auto& service = start({"--log-format", "json", "--workers", "1", test_worker_binary(), "--",
                         "--print-env"},
                        {{"TEST_EXTRA", "esc \x1b[2J bad \xff quote \" end"}});
  ASSERT_TRUE(service.wait_for(R"("message":"cwd=)", 10s, "the worker's lines"));
  stop_gracefully(service);

  std::size_t master = 0;
  std::size_t worker = 0;
  bool saw_extra = false;
  for (const auto& line : service.raw_lines()) {
    const json object = json::parse(line, nullptr, false);
    ASSERT_TRUE(object.is_object()) << "not a JSON object: '" << line << "'";
    ASSERT_TRUE(object.contains("time") && object["time"].is_string()) << line;
    EXPECT_TRUE(std::regex_match(object["time"].get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
        << line;
    ASSERT_TRUE(object.contains("level") && object.contains("message")) << line;
    EXPECT_TRUE(object["message"].is_string()) << line;
    if (object.contains("worker")) {
      EXPECT_EQ(object["worker"], 1) << line;
      EXPECT_TRUE(object["pid"].is_number_integer()) << line;
      EXPECT_TRUE(object["stream"] == "stdout" || object["stream"] == "stderr") << line;
      if (object["message"] == "env TEST_EXTRA=esc \\x1b[2J bad \\xff quote \" end") {
        saw_extra = true;
      }
      ++worker;
    } else {
      EXPECT_TRUE(object["level"] == "info" || object["level"] == "warn" ||
                  object["level"] == "error")
          << line;
      ++master;
    }
  }
  EXPECT_TRUE(saw_extra) << service.output();
  EXPECT_GE(master, 3u) << service.output();
  EXPECT_GE(worker, 3u) << service.output();
}

TEST_F(LogLinesTest, UnderTheJournalLinesCarryPrioritiesInsteadOfTimes) {
  // As systemd does for a service whose stderr it connected to the journal: JOURNAL_STREAM
  // names that stream's device and inode (here the test's pipe, which stat finds as fd 2).
  const std::string script =
      "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) && export JOURNAL_STREAM && "
      "exec \"$0\" \"$@\"";
  auto& service = start_program(
      "/bin/sh", {"-c", script, cservice_binary(), "--workers", "1", test_worker_binary(), "--",
                  "--print-env"});
  ASSERT_TRUE(service.wait_for(R"(^worker 1\[\d+\]: cwd=)", 10s, "the worker's lines"));
  service.signal(SIGTERM);
  ASSERT_EQ(service.wait_exit(10s), 0) << service.output();

  const std::regex master(R"(^<[346]>cservice: )");
  const std::regex worker(R"(^(<[0-7]>)?worker 1\[\d+\]: )");
  for (const auto& line : service.raw_lines()) {
    EXPECT_TRUE(std::regex_search(line, master) || std::regex_search(line, worker))
        << "neither a prioritised master line nor a worker's: '" << line << "'";
  }
  EXPECT_EQ(service.count(R"(^<6>cservice: cservice .* starting 1 worker\(s\))"), 1u)
      << service.output();
}

TEST_F(LogLinesTest, Sigusr1WithoutALogFileIsLoggedAndChangesNothing) {
  auto& service =
      start({"--workers", "1", "--ready", "started", test_worker_binary(), "--", "--ready-after", "0"});
  ASSERT_TRUE(service.wait_for("starting -> ready", 10s, "the worker ready"));
  service.signal(SIGUSR1);
  ASSERT_TRUE(service.wait_for("SIGUSR1: no log file to reopen", 5s, "the master's answer"));
  EXPECT_FALSE(service.has_exited());
  stop_gracefully(service);  // exit status 0: SIGUSR1 did not kill it
}

TEST_F(LogLinesTest, RenameThenSigusr1MovesTheLogWithoutLosingOrTearingALine) {
  const pid_t daemon = start_daemon({"--flood", "0", "--flood-pause-us", "500"});
  ASSERT_GT(daemon, 0);
  const std::string rotated = log_file_ + ".1";
  ASSERT_TRUE(wait_until([&] { return file_size(log_file_) > 100'000; }, 10s))
      << "the worker's flood did not reach the log";
  // logrotate's order: rename first; the daemon goes on writing to the file it has open...
  ASSERT_EQ(::rename(log_file_.c_str(), rotated.c_str()), 0);
  const std::size_t renamed_at = file_size(rotated);
  ASSERT_TRUE(wait_until([&] { return file_size(rotated) > renamed_at + 50'000; }, 10s))
      << "the renamed file was no longer written";
  EXPECT_FALSE(std::filesystem::exists(log_file_));
  // ...until the signal, then to a new file of the same name.
  ASSERT_EQ(::kill(daemon, SIGUSR1), 0);
  ASSERT_TRUE(file_has(log_file_, "SIGUSR1: reopened log file " + log_file_, 10s))
      << read_file(log_file_);
  ASSERT_TRUE(wait_until([&] { return file_size(log_file_) > 100'000; }, 10s))
      << "the flood did not go on in the new file";
  stop_daemon(daemon);

  const auto old_lines = split_lines(read_file(rotated));
  const auto new_lines = split_lines(read_file(log_file_));
  ASSERT_FALSE(old_lines.empty());
  EXPECT_NE(old_lines.back().find("SIGUSR1: reopening log file " + log_file_), std::string::npos)
      << "the old file does not end with the reopening: " << old_lines.back();
  const std::regex stamped(kTextLine);
  const std::regex flood(R"(worker 1\[\d+\]: flood line (\d+)$)");
  long last = 0;  // every numbered line once, in order, across the two files
  long in_old = 0;
  long in_new = 0;
  for (const auto* lines : {&old_lines, &new_lines}) {
    for (const auto& line : *lines) {
      ASSERT_TRUE(std::regex_search(line, stamped)) << "torn or unstamped line: '" << line << "'";
      std::smatch match;
      if (!std::regex_search(line, match, flood)) continue;
      const long number = std::stol(match[1].str());
      ASSERT_EQ(number, last + 1) << "line lost, repeated or out of order: " << line;
      last = number;
      ++(lines == &old_lines ? in_old : in_new);
    }
  }
  EXPECT_GT(in_old, 1000) << "lines before the rotation";
  EXPECT_GT(in_new, 1000) << "lines after the rotation";
}

TEST_F(LogLinesTest, LogrotateRotatesADaemonsLogWithItsPostrotateSignal) {
  const std::string logrotate = "/usr/sbin/logrotate";
  if (::access(logrotate.c_str(), X_OK) != 0) {
    GTEST_SKIP() << logrotate << " is not installed (Debian package logrotate)";
  }
  const pid_t daemon = start_daemon({"--ready-after", "0"});
  ASSERT_GT(daemon, 0);
  ASSERT_TRUE(file_has(log_file_, "starting -> ready", 10s)) << read_file(log_file_);
  // The stanza of docs/operations.md ("Logs"), with the test's paths.
  const std::string config = write_file("logrotate.conf",
                                        log_file_ + " {\n"
                                        "    daily\n"
                                        "    rotate 14\n"
                                        "    missingok\n"
                                        "    notifempty\n"
                                        "    compress\n"
                                        "    delaycompress\n"
                                        "    postrotate\n"
                                        "        kill -USR1 \"$(cat " + pid_file_ +
                                            ")\" 2>/dev/null || true\n"
                                        "    endscript\n"
                                        "}\n",
                                        /*executable=*/false);
  auto& rotation = start_program(logrotate, {"-f", "-s", temp_dir() + "/logrotate.state", config});
  ASSERT_EQ(rotation.wait_exit(20s), 0) << rotation.output();
  ASSERT_TRUE(file_has(log_file_, "SIGUSR1: reopened log file", 10s)) << read_file(log_file_);
  const std::string old_log = read_file(log_file_ + ".1");  // delaycompress: not yet compressed
  EXPECT_NE(old_log.find("starting -> ready"), std::string::npos) << old_log;
  EXPECT_NE(old_log.find("SIGUSR1: reopening log file"), std::string::npos) << old_log;
  EXPECT_EQ(read_file(log_file_).find("starting -> ready"), std::string::npos);
  stop_daemon(daemon);
  EXPECT_TRUE(file_has(log_file_, "all workers stopped", 1s)) << read_file(log_file_);
}

}  // namespace
}  // namespace cservice::testing
