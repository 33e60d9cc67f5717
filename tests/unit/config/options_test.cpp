#include "command_line_loader.hpp"
#include "config/flags.hpp"
#include "config/options.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

namespace cservice::config {
namespace {

using nlohmann::json;

class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "cservice-opt-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    program_ = dir_ + "/server";
    std::ofstream(program_) << "#!/bin/sh\n";
    std::filesystem::permissions(program_, std::filesystem::perms::owner_all);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<Options> load_json(json config) {
    if (!config.contains("program")) config["program"] = program_;
    return from_json(config, "");
  }
  std::string error_of(json config) {
    auto options = load_json(std::move(config));
    return options ? std::string("(no error)") : options.error().message;
  }
  static Result<Options> load_flags(const std::vector<const char*>& argv) {
    return load_command_line({argv.begin(), argv.end()});
  }

  std::string dir_;
  std::string program_;
};

TEST_F(OptionsTest, DefaultsFollowTheOriginal) {
  auto o = load_json({});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->program, program_);
  EXPECT_EQ(o->policy.worker_count, default_worker_count());
  EXPECT_TRUE(o->policy.restart_on_failure);
  EXPECT_EQ(o->policy.restart_delay, Milliseconds(100));
  EXPECT_EQ(o->policy.restarts_per_minute, 10u);
  EXPECT_EQ(o->policy.ready_mode, supervisor::ReadyMode::Auto);
  EXPECT_EQ(o->stop_signal, SIGTERM);
  EXPECT_FALSE(o->silent);
  EXPECT_FALSE(o->raw_output);
  EXPECT_TRUE(o->listen.empty());
}

TEST_F(OptionsTest, ReadsEveryKey) {
  auto o = load_json({{"workerCount", 3}, {"restartOnFailure", false}, {"restartDelayMs", 5},
                      {"restartsPerMinute", 2}, {"listen", {"8080", "admin=127.0.0.1:9000"}},
                      {"ready", "notify"}, {"readyTimeoutMs", 700}, {"stopSignal", "SIGINT"},
                      {"stopTimeoutMs", 50}, {"cwd", dir_}, {"env", {{"A", "1"}}},
                      {"silent", true}, {"args", {"-x"}}, {"restartConcurrencyRatio", 0.5},
                      {"rawOutput", true}});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->policy.worker_count, 3u);
  EXPECT_FALSE(o->policy.restart_on_failure);
  EXPECT_EQ(o->policy.restart_delay, Milliseconds(5));
  EXPECT_EQ(o->policy.restarts_per_minute, 2u);
  ASSERT_EQ(o->listen.size(), 2u);
  EXPECT_EQ(o->listen[1].name, "admin");
  EXPECT_EQ(o->listen[1].port, 9000);
  EXPECT_EQ(o->policy.ready_mode, supervisor::ReadyMode::Notify);
  EXPECT_EQ(o->policy.ready_timeout, Milliseconds(700));
  EXPECT_EQ(o->stop_signal, SIGINT);
  EXPECT_EQ(o->policy.stop_timeout, Milliseconds(50));
  EXPECT_EQ(o->cwd, dir_);
  EXPECT_EQ(o->env.at("A"), "1");
  EXPECT_TRUE(o->silent);
  EXPECT_TRUE(o->raw_output);
  EXPECT_EQ(o->args, std::vector<std::string>{"-x"});
  EXPECT_EQ(o->policy.restart_concurrency_ratio, 0.5);
}

TEST_F(OptionsTest, CommandDirectoriesAndTheirTimeout) {
  auto o = load_json({{"commands", dir_}, {"commandTimeoutMs", 250}});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->command_dirs, std::vector<std::string>{dir_});
  EXPECT_EQ(o->command_timeout, Milliseconds(250));
  EXPECT_EQ(load_json({})->command_timeout, Milliseconds(30000));
  EXPECT_EQ(error_of({{"commands", {dir_, dir_ + "/nope"}}}),
            "commands " + dir_ + "/nope: No such file or directory");
  EXPECT_EQ(error_of({{"commands", program_}}), "commands " + program_ + ": not a directory");
  EXPECT_EQ(error_of({{"commands", 5}}),
            "bad option commands (--commands): expected a directory or an array of directories, got 5");
  EXPECT_EQ(error_of({{"commandTimeoutMs", 0}}).rfind("bad option commandTimeoutMs (", 0), 0u);
  auto flags = load_flags({"--commands", dir_.c_str(), "--commands", dir_.c_str(),
                           "--command-timeout-ms", "900", program_.c_str()});
  ASSERT_TRUE(flags) << flags.error().message;
  EXPECT_EQ(flags->command_dirs.size(), 2u);
  EXPECT_EQ(flags->command_timeout, Milliseconds(900));
}

TEST_F(OptionsTest, UnknownKeyIsNamedWithTheNearestValidOne) {
  EXPECT_EQ(error_of({{"workerCont", 2}}), "unknown option 'workerCont' (did you mean 'workerCount'?)");
  EXPECT_EQ(error_of({{"zzzzzzzz", 2}}), "unknown option 'zzzzzzzz'");
}

TEST_F(OptionsTest, BadValuesAreNamed) {
  EXPECT_EQ(error_of({{"workerCount", 0}}),
            "bad option workerCount (--worker-count): expected a whole number from 1 to 1024, got 0");
  EXPECT_EQ(error_of({{"workerCount", "four"}}),
            "bad option workerCount (--worker-count): expected a whole number from 1 to 1024, got "
            "\"four\"");
  EXPECT_EQ(error_of({{"restartOnFailure", "yes"}}),
            "bad option restartOnFailure (--restart-on-failure): expected true or false, got "
            "\"yes\"");
  EXPECT_EQ(error_of({{"restartDelayMs", -1}}).rfind("bad option restartDelayMs (--restart-delay-ms): expected", 0), 0u);
  EXPECT_EQ(error_of({{"restartConcurrencyRatio", 2}}),
            "bad option restartConcurrencyRatio (--restart-concurrency-ratio): expected a number "
            "from 0 to 1, got 2");
  EXPECT_EQ(error_of({{"ready", "soon"}}),
            "bad option ready (--ready): expected one of auto, notify, started, got \"soon\"");
  EXPECT_EQ(error_of({{"stopSignal", "SIGNOPE"}}).rfind("bad option stopSignal (--stop-signal): expected", 0), 0u);
  EXPECT_EQ(error_of({{"env", {{"A", 1}}}}).rfind("bad option env (--env): expected", 0), 0u);
  EXPECT_EQ(error_of({{"listen", "99999"}}),
            "bad listen address '99999': port must be a number from 0 to 65535");
  EXPECT_EQ(error_of({{"cwd", dir_ + "/nope"}}), "cwd " + dir_ + "/nope: No such file or directory");
}

TEST_F(OptionsTest, MissingProgramIsReported) {
  EXPECT_EQ(error_of({{"program", dir_ + "/missing"}}),
            "program " + dir_ + "/missing: No such file or directory");
  EXPECT_NE(error_of({{"program", "no-such-program-anywhere"}}).find("not found"),
            std::string::npos);
}

TEST_F(OptionsTest, NonExecutableProgramIsReported) {
  const std::string plain = dir_ + "/plain";
  std::ofstream(plain) << "data";
  std::filesystem::permissions(plain, std::filesystem::perms::owner_read);
  EXPECT_EQ(error_of({{"program", plain}}), "program " + plain + ": not executable: Permission denied");
  EXPECT_EQ(error_of({{"program", dir_}}), "program " + dir_ + ": not a regular file");
}

TEST_F(OptionsTest, BareProgramNameIsFoundInPath) {
  auto o = load_json({{"program", "sh"}});
  ASSERT_TRUE(o) << o.error().message;
  // Found in PATH, then resolved as every program is (sh may be /usr/bin/dash).
  EXPECT_TRUE(std::filesystem::path(o->program).is_absolute()) << o->program;
  EXPECT_EQ(std::filesystem::canonical(o->program).string(), o->program);
}

TEST_F(OptionsTest, FlagsMapToTheSameKeys) {
  auto o = load_flags({"-n", "4", "--restartDelayMs", "20", "--listen", "0", "--listen",
                       "b=127.0.0.1:0", "-e", "X=1", "--silent", "--raw-output", program_.c_str(),
                       "--", "-v", "--port", "1"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->policy.worker_count, 4u);
  EXPECT_EQ(o->policy.restart_delay, Milliseconds(20));
  EXPECT_EQ(o->listen.size(), 2u);
  EXPECT_EQ(o->env.at("X"), "1");
  EXPECT_TRUE(o->silent);
  EXPECT_TRUE(o->raw_output);
  EXPECT_EQ(o->args, (std::vector<std::string>{"-v", "--port", "1"}));
}

TEST_F(OptionsTest, BadFlagValueGoesThroughTheSameValidator) {
  auto o = load_flags({"--worker-count", "abc", program_.c_str()});
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().message,
            "bad option workerCount (--worker-count): expected a whole number from 1 to 1024, got "
            "\"abc\"");
}

// Found by the flags fuzzer: a flag value that is not UTF-8 was an uncaught exception from the
// validator's message, which ended the program.
TEST_F(OptionsTest, BadFlagValueThatIsNotUtf8IsAnErrorNotAnException) {
  auto o = load_flags({"--local-network", "10\xb6.0.0.0/8", program_.c_str()});
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().message,
            "bad option localNetworks (--local-network): expected an address or ADDRESS/PREFIX, got "
            "\"10\xef\xbf\xbd.0.0.0/8\"");
}

TEST_F(OptionsTest, UnknownFlagIsAnError) {
  auto o = load_flags({"--wrokers", "2", program_.c_str()});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("--wrokers"), std::string::npos);
}

TEST_F(OptionsTest, ConfigFileKeysWithFlagsOnTop) {
  const std::string file = dir_ + "/service.json";
  std::ofstream(file) << R"({"program": "server", "workerCount": 2, "restartDelayMs": 7})";
  auto o = load_flags({"--workers", "5", file.c_str()});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->program, program_);  // relative to the file's folder
  EXPECT_EQ(o->policy.worker_count, 5u);
  EXPECT_EQ(o->policy.restart_delay, Milliseconds(7));
}

TEST_F(OptionsTest, SslFilesFromTheFileOrFlagsAreTakenFromTheFilesFolder) {
  const std::string file = dir_ + "/service.json";
  std::ofstream(file) << R"({"program": "server", "ssl": {"key": "k.pem", "cert": "c.pem"}})";
  auto from_file = load_flags({file.c_str()});
  ASSERT_TRUE(from_file) << from_file.error().message;
  ASSERT_TRUE(from_file->control.ssl);
  EXPECT_EQ(from_file->control.ssl->key, dir_ + "/k.pem");
  EXPECT_EQ(from_file->control.ssl->cert, dir_ + "/c.pem");
  // A flag replaces one file and keeps the other.
  auto with_flag = load_flags({"--ssl-cert", "/etc/other.pem", file.c_str()});
  ASSERT_TRUE(with_flag) << with_flag.error().message;
  EXPECT_EQ(with_flag->control.ssl->key, dir_ + "/k.pem");
  EXPECT_EQ(with_flag->control.ssl->cert, "/etc/other.pem");
  EXPECT_FALSE(load_json({})->control.ssl) << "plain HTTP by default";
}

TEST_F(OptionsTest, SslNeedsBothFilesAndNothingElse) {
  const std::string expected =
      R"(bad option ssl (--ssl-key, --ssl-cert): expected {"key": "KEY.pem", "cert": "CERT.pem"})";
  EXPECT_TRUE(error_of({{"ssl", {{"key", "k.pem"}}}}).starts_with(expected));
  EXPECT_TRUE(error_of({{"ssl", "k.pem"}}).starts_with(expected));
  EXPECT_TRUE(
      error_of({{"ssl", {{"key", "k"}, {"cert", "c"}, {"ca", "x"}}}}).starts_with(expected));
  auto flag_alone = load_flags({"--ssl-key", "k.pem", program_.c_str()});
  ASSERT_FALSE(flag_alone);
  EXPECT_TRUE(flag_alone.error().message.starts_with(expected)) << flag_alone.error().message;
}

TEST_F(OptionsTest, BrokenConfigFileNamesFileAndPlace) {
  const std::string file = dir_ + "/broken.json";
  std::ofstream(file) << "{\"workerCount\": 2,\n \"silent\": }";
  auto o = load_flags({file.c_str()});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("broken.json"), std::string::npos);
  EXPECT_NE(o.error().message.find("line 2"), std::string::npos);
}

TEST_F(OptionsTest, BooleanFlagsAreBareOrTakeAValue) {
  auto bare = load_flags({"--restartOnFailure", "--silent", "--cli", program_.c_str()});
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_TRUE(bare->policy.restart_on_failure);
  EXPECT_TRUE(bare->silent);
  EXPECT_TRUE(bare->console);
  auto valued = load_flags({"--cli", "false", "--silent=no", "--allow-http-get", "1",
                            "--restartonFailure", "false", program_.c_str()});
  ASSERT_TRUE(valued) << valued.error().message;
  EXPECT_FALSE(valued->console);
  EXPECT_FALSE(valued->silent);
  EXPECT_TRUE(valued->control.allow_http_get);
  EXPECT_FALSE(valued->policy.restart_on_failure);
  // Only a boolean word is taken as the value: the next word here is the program.
  auto then_program = load_flags({"--cliEnabled", program_.c_str(), "--", "true"});
  ASSERT_TRUE(then_program) << then_program.error().message;
  EXPECT_TRUE(then_program->console);
  EXPECT_EQ(then_program->program, program_);
  auto bad = load_flags({"--cli=maybe", program_.c_str()});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "bad option cli (--cli): expected true or false (or yes, no, 1, 0), got \"maybe\"");
}

TEST_F(OptionsTest, ARepeatedFlagKeepsTheLastValueAndRepeatableOnesAddUp) {
  auto o = load_flags({"-n", "2", "--worker-count=3", "--env", "A=1", "-e", "B=2", "-l", "0",
                       "--listen", "b=127.0.0.1:0", program_.c_str()});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->policy.worker_count, 3u);
  EXPECT_EQ(o->env.size(), 2u);
  EXPECT_EQ(o->listen.size(), 2u);
}

TEST_F(OptionsTest, CommandLineMistakesAreOneSentenceEach) {
  const auto error_of_flags = [&](std::vector<const char*> argv) {
    auto o = load_flags(std::move(argv));
    return o ? std::string("(no error)") : o.error().message;
  };
  EXPECT_EQ(error_of_flags({"--wrokers", "2", program_.c_str()}),
            "unknown option --wrokers (did you mean --workers?)");
  EXPECT_EQ(error_of_flags({"--xyz", program_.c_str()}), "unknown option --xyz");
  EXPECT_EQ(error_of_flags({program_.c_str(), "--port"}),
            "missing value for --port: expected a whole number from 0 to 65535");
  EXPECT_EQ(error_of_flags({"--listen", "--silent", program_.c_str()}),
            "missing value for --listen: expected ADDRESS");
  EXPECT_EQ(error_of_flags({program_.c_str(), "extra"}),
            "unexpected argument \"extra\" after \"" + program_ +
                "\": a program's arguments go after --, and a command line to send goes in quotes");
  EXPECT_EQ(error_of_flags({"--env", "NOVALUE", program_.c_str()}),
            "bad option env (--env): expected NAME=VALUE, got \"NOVALUE\"");
  EXPECT_EQ(error_of_flags({"--port", "http", program_.c_str()}),
            "bad option port (--port): expected a whole number from 0 to 65535, got \"http\"");
}

TEST_F(OptionsTest, SuggestionsOnlyForNearNames) {
  EXPECT_EQ(error_of({{"tls", 1}}), "unknown option 'tls'");
  EXPECT_EQ(error_of({{"ssh", 1}}), "unknown option 'ssh' (did you mean 'ssl'?)");
  EXPECT_EQ(error_of({{"cdw", 1}}), "unknown option 'cdw'");
  EXPECT_EQ(error_of({{"ssl2", 1}}), "unknown option 'ssl2' (did you mean 'ssl'?)");
  EXPECT_EQ(error_of({{"restartDelay", 1}}),
            "unknown option 'restartDelay' (did you mean 'restartDelayMs'?)");
  EXPECT_EQ(error_of({{"restartDelyMs", 1}}),
            "unknown option 'restartDelyMs' (did you mean 'restartDelayMs'?)");
}

TEST_F(OptionsTest, ConfigFlagNamesAServiceFile) {
  const std::string file = dir_ + "/service.conf";
  std::ofstream(file) << R"({"workers": "server", "workerCount": 2, "restartonFailure": true})";
  auto o = load_flags({"--config", file.c_str(), "--restart-on-failure", "false"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->program, program_);  // from the file's folder
  EXPECT_EQ(o->policy.worker_count, 2u);
  EXPECT_FALSE(o->policy.restart_on_failure);  // the flag wins over the file's alias
  // A program given with it replaces the file's, found from the current directory.
  const std::string other = dir_ + "/other";
  std::ofstream(other) << "#!/bin/sh\n";
  std::filesystem::permissions(other, std::filesystem::perms::owner_all);
  const std::string joined = "--config=" + file;
  auto with_program = load_flags({joined.c_str(), other.c_str()});
  ASSERT_TRUE(with_program) << with_program.error().message;
  EXPECT_EQ(with_program->program, other);
  EXPECT_EQ(with_program->policy.worker_count, 2u);
  const std::string json_file = dir_ + "/service.json";
  std::ofstream(json_file) << "{}";
  auto two = load_flags({"--config", file.c_str(), json_file.c_str()});
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().message,
            "two service files, --config \"" + file + "\" and \"" + json_file + "\": give one");
}

TEST_F(OptionsTest, BadJsonFileSaysWhereAndWhyInOneLine) {
  const std::string file = dir_ + "/broken.json";
  std::ofstream(file) << "{\"workerCount\": 2,\n \"silent\": }";
  auto o = load_flags({file.c_str()});
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().message, "config " + file +
                                   ": not valid JSON at line 2, column 12: unexpected '}'; "
                                   "expected '[', '{', or a literal");
  const std::string empty = dir_ + "/empty.json";
  std::ofstream(empty) << "\n";
  auto e = load_flags({empty.c_str()});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message,
            "config " + empty + ": not valid JSON at line 1, column 1: the file is empty");
}

}  // namespace
}  // namespace cservice::config

namespace cservice::config {
namespace {

TEST(CommandLineModeTest, CalledAsCservicedServesInTheBackground) {
  const char* argv[] = {"/usr/local/bin/cserviced", "./server"};
  auto line = parse_command_line(2, argv);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->options.value("daemon", false), true);
  const char* plain[] = {"cservice", "./server"};
  EXPECT_FALSE(parse_command_line(2, plain)->options.contains("daemon"));
}

TEST(CommandLineModeTest, RemoteModeTakesAUrlAndACa) {
  const char* argv[] = {"cservice", "workers", "--url", "https://h:1", "--ca", "ca.pem"};
  auto line = parse_command_line(6, argv);
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_EQ(line->url, "https://h:1");
  EXPECT_EQ(line->ca_file, "ca.pem");
}

TEST(CommandLineModeTest, ShortFlagsTakeAnAttachedValueOrOneAfterEquals) {
  const char* argv[] = {"cservice", "-n4", "-p=8080", "-d", "false", "-l=0", "./server"};
  auto line = parse_command_line(7, argv);
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_EQ(line->options["workerCount"], 4);
  EXPECT_EQ(line->options["port"], 8080);
  EXPECT_EQ(line->options["daemon"], false);
  EXPECT_EQ(line->options["listen"], nlohmann::json::array({"0"}));
  EXPECT_EQ(line->target, "./server");
}

TEST(CommandLineModeTest, AFlagWithoutItsValueIsAnErrorEvenIfGivenAgainLater) {
  const char* argv[] = {"cservice", "--port", "--port", "1", "./server"};
  auto line = parse_command_line(5, argv);
  ASSERT_FALSE(line);
  EXPECT_EQ(line.error().message,
            "missing value for --port: expected a whole number from 0 to 65535");
}

TEST(CommandLineModeTest, EverythingAfterTheFirstDoubleDashIsTheProgramsArguments) {
  const char* argv[] = {"cservice", "./server", "--", "--port", "--", "x", "--help"};
  auto line = parse_command_line(7, argv);
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_EQ(line->action, CommandLine::Action::Serve);
  EXPECT_EQ(line->options["args"], nlohmann::json::array({"--port", "--", "x", "--help"}));
  EXPECT_FALSE(line->options.contains("port"));
}

TEST(CommandLineModeTest, RunAndJsonSelectRemoteMode) {
  const char* argv[] = {"cservice", "--run", "restart all", "--json", "-k", "key"};
  auto line = parse_command_line(6, argv);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->action, CommandLine::Action::Remote);
  EXPECT_EQ(line->target, "restart all");
  EXPECT_TRUE(line->json);
  EXPECT_EQ(line->options["accessKey"], "key");
}

TEST(CommandLineModeTest, ColorTakesAutoAlwaysOrNever) {
  const char* argv[] = {"cservice", "workers", "--color", "never"};
  auto line = parse_command_line(4, argv);
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_EQ(line->color, commands::ColorChoice::Never);
  const char* always[] = {"cservice", "--color=always", "workers"};
  line = parse_command_line(3, always);
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_EQ(line->color, commands::ColorChoice::Always);
  const char* bad[] = {"cservice", "--color", "blue", "workers"};
  line = parse_command_line(4, bad);
  ASSERT_FALSE(line);
  EXPECT_EQ(line.error().message,
            "bad option --color: expected one of auto, always, never, got \"blue\"");
}

TEST(CommandLineModeTest, CompletionBashIsItsOwnActionAndOtherShellsAreRefused) {
  const char* argv[] = {"cservice", "completion", "bash"};
  auto line = parse_command_line(3, argv);
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_EQ(line->action, CommandLine::Action::Completion);
  const char* zsh[] = {"cservice", "completion", "zsh"};
  line = parse_command_line(3, zsh);
  ASSERT_FALSE(line);
  EXPECT_EQ(line.error().message, "completion: expected bash, got \"zsh\"");
  // `completion` alone is still a command line for the service (a custom command may have it).
  const char* alone[] = {"cservice", "completion"};
  line = parse_command_line(2, alone);
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_EQ(line->action, CommandLine::Action::Serve);
  EXPECT_EQ(line->target, "completion");
}

TEST(CommandLineModeTest, AnEmptyRunIsAnErrorAndAKeyAloneIsAConsole) {
  const char* empty[] = {"cservice", "--run", "", "-k", "key"};
  auto line = parse_command_line(5, empty);
  ASSERT_FALSE(line);
  EXPECT_EQ(line.error().message, "missing value for --run: expected the command line to send");
  const char* console[] = {"cservice", "-k", "key", "-p", "12000"};
  line = parse_command_line(5, console);
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_EQ(line->action, CommandLine::Action::Console);
}

TEST(CommandLineModeTest, AServiceFileThatDoesNotExistIsAConfigError) {
  const char* argv[] = {"cservice", "no-such-service.json"};
  auto line = parse_command_line(2, argv);
  ASSERT_TRUE(line) << line.error().message;
  auto options = load(*line);
  ASSERT_FALSE(options);
  EXPECT_EQ(options.error().message, "config no-such-service.json: No such file or directory");
}

}  // namespace
}  // namespace cservice::config
