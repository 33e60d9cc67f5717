// Commands from a directory (the `commands` option): each executable is a command; its
// arguments come as argv, its stdout is the answer, its exit status says success; one that
// hangs is killed after commandTimeoutMs.

#include <csignal>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "integration_test.hpp"

namespace cservice::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey = "directory-key";

class CommandDirectoryTest : public IntegrationTest {
 protected:
  ServiceProcess& start_service(std::vector<std::string> directories,
                                std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--workers", "1",         "--access-key", kKey,
                                     "--host",    "127.0.0.1", "--port",       "0"};
    for (const auto& directory : directories) {
      args.push_back("--commands");
      args.push_back(directory);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(test_worker_binary());
    args.push_back("--");
    args.push_back("--ready-after");
    args.push_back("0");
    auto& service = start(args);
    port_ = service.api_port();
    EXPECT_TRUE(service.wait_for("starting -> ready", 10s, "the worker ready"));
    return service;
  }
  HttpAnswer command(const std::string& line) { return run_command(port_, kKey, line); }
  void stop(ServiceProcess& service) {
    service.signal(SIGTERM);
    EXPECT_EQ(service.wait_exit(10s), 0) << service.output();
  }
  std::string commands_dir() {
    const std::string dir = temp_dir() + "/commands";
    std::filesystem::create_directories(dir);
    return dir;
  }

  int port_ = -1;
};

TEST_F(CommandDirectoryTest, ProgramsRunWithArgumentsAndAnswerJsonOrText) {
  const std::string dir = commands_dir();
  write_file("commands/echo-args.sh",
             "#!/bin/sh\nprintf '{\"argc\": %d, \"first\": \"%s\", \"second\": \"%s\"}\\n' "
             "\"$#\" \"$1\" \"$2\"\n",
             true);
  write_file("commands/raw.sh", "#!/bin/sh\nprintf '%s\\n' \"$1\"\n", true);
  write_file("commands/echo-args.help", "echo-args a b\nPrints its first two arguments.\n", false);
  write_file("commands/text.sh", "#!/bin/sh\necho 'plain words, not JSON'\n", true);
  write_file("commands/address.sh",
             "#!/bin/sh\nprintf '{\"url\": \"%s\", \"key\": \"%s\"}\\n' \"$CSERVICE_URL\" "
             "\"$CSERVICE_ACCESS_KEY\"\n",
             true);
  write_file("commands/notes.txt", "not executable: not a command\n", false);
  write_file("commands/.hidden.sh", "#!/bin/sh\necho hidden\n", true);
  auto& service = start_service({dir});

  const auto echoed = command(R"(echo-args "two words" 42)");
  ASSERT_EQ(echoed.status, 200) << echoed.body;
  EXPECT_EQ(json::parse(echoed.body),
            (json{{"argc", 2}, {"first", "two words"}, {"second", "42"}}));
  // A JSON argument arrives as JSON text; JSON printed back is the result as JSON.
  const auto raw = command(R"(raw {"x":[1,2]})");
  ASSERT_EQ(raw.status, 200) << raw.body;
  EXPECT_EQ(json::parse(raw.body), (json{{"x", {1, 2}}}));

  const auto text = command("text");
  ASSERT_EQ(text.status, 200) << text.body;
  EXPECT_EQ(json::parse(text.body), "plain words, not JSON");

  const auto address = command("address");
  ASSERT_EQ(address.status, 200) << address.body;
  EXPECT_EQ(json::parse(address.body)["url"], "http://127.0.0.1:" + std::to_string(port_) + "/cli");
  EXPECT_EQ(json::parse(address.body)["key"], kKey);

  const json help = json::parse(command("help echo-args").body);
  EXPECT_EQ(help["usage"], "echo-args a b");
  EXPECT_EQ(help["description"], "Prints its first two arguments.");
  EXPECT_EQ(command("notes").status, 404);
  EXPECT_EQ(command(".hidden").status, 404);
  stop(service);
}

TEST_F(CommandDirectoryTest, FailuresAndHangsAreAnsweredAsErrors) {
  const std::string dir = commands_dir();
  write_file("commands/fails.sh", "#!/bin/sh\necho 'disk full' >&2\nexit 3\n", true);
  // The sleep is a child in the command's process group: the time-out kills it too.
  write_file("commands/hangs.sh", "#!/bin/sh\necho started\nsleep 60\necho never\n", true);
  write_file("commands/flood.sh", "#!/bin/sh\nhead -c 2000000 /dev/zero | tr '\\0' x\n", true);
  // JSON nested 100,000 deep: once a value, copying or printing it would overflow the stack.
  write_file("commands/deep.sh",
             "#!/bin/sh\nhead -c 100000 /dev/zero | tr '\\0' '['\n"
             "head -c 100000 /dev/zero | tr '\\0' ']'\n",
             true);
  auto& service = start_service({dir}, {"--command-timeout-ms", "400"});

  const auto deep = command("deep");
  EXPECT_EQ(deep.status, 200) << "answered as text, not as JSON";
  EXPECT_EQ(deep.body.substr(0, 4), "\"[[[") << deep.body.substr(0, 200);

  const auto flooded = command("flood");
  EXPECT_EQ(flooded.status, 500);
  EXPECT_NE(flooded.body.find("flood: printed more than 1048576 bytes"), std::string::npos)
      << flooded.body.substr(0, 200);

  const auto failed = command("fails");
  EXPECT_EQ(failed.status, 500);
  EXPECT_NE(failed.body.find("fails: failed (exit 3): disk full"), std::string::npos)
      << failed.body;

  const auto start = Clock::now();
  const auto hung = command("hangs");
  EXPECT_EQ(hung.status, 504);
  EXPECT_NE(hung.body.find("hangs: no answer within 400 ms (killed)"), std::string::npos)
      << hung.body;
  EXPECT_GE(Clock::now() - start, 400ms);
  // The service is intact, and left nothing running (the fixture's leak check proves the
  // sleep is gone too).
  EXPECT_EQ(command("version").status, 200);
  EXPECT_EQ(json::parse(command("workers").body)["workers"][0]["state"], "ready");
  stop(service);
}

TEST_F(CommandDirectoryTest, ExampleShellAndPythonCommandsBesideAnotherDirectory) {
  const std::string dir = commands_dir();
  write_file("commands/own.sh", "#!/bin/sh\necho '\"mine\"'\n", true);
  auto& service = start_service({examples_dir() + "/commands", dir});
  const auto own = command("own");
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(json::parse(own.body), "mine");
  const auto load = command("load");
  ASSERT_EQ(load.status, 200) << load.body;
  EXPECT_TRUE(json::parse(load.body)["load1"].is_number()) << load.body;
  // The Python command asks the service itself, over REST, with the key it was given.
  const auto counted = command("count-workers ready");
  ASSERT_EQ(counted.status, 200) << counted.body;
  EXPECT_EQ(json::parse(counted.body), (json{{"state", "ready"}, {"count", 1}}));
  stop(service);
}

TEST_F(CommandDirectoryTest, BadDirectoriesStopTheStart) {
  auto& missing = start({"--commands", temp_dir() + "/nowhere", test_worker_binary()});
  EXPECT_EQ(missing.wait_exit(10s), 2);
  EXPECT_NE(missing.output().find("commands " + temp_dir() + "/nowhere: No such file or directory"),
            std::string::npos)
      << missing.output();

  const std::string dir = commands_dir();
  write_file("commands/twice.sh", "#!/bin/sh\necho 1\n", true);
  write_file("commands/twice.py", "#!/bin/sh\necho 2\n", true);
  auto& clash = start({"--commands", dir, test_worker_binary()});
  EXPECT_EQ(clash.wait_exit(10s), 2);
  EXPECT_NE(clash.output().find("would both be command 'twice'"), std::string::npos)
      << clash.output();
  EXPECT_EQ(clash.count("starting"), 0u);
}

// A directory command runs as the master's user: nobody else may be able to choose what runs,
// by writing a command, or by re-pointing the commands directory or one above it.
TEST_F(CommandDirectoryTest, CommandsOtherUsersCouldChangeStopTheStart) {
  const std::string dir = commands_dir();
  const std::string script = write_file("commands/status.sh", "#!/bin/sh\necho ok\n", true);
  ASSERT_EQ(::chmod(script.c_str(), 0757), 0);
  auto& writable = start({"--commands", dir, test_worker_binary()});
  EXPECT_EQ(writable.wait_exit(10s), 2);
  EXPECT_NE(writable.output().find("command " + script + " is writable by other users"),
            std::string::npos)
      << writable.output();
  EXPECT_EQ(writable.count("starting"), 0u);
  if (::geteuid() != 0) return;  // giving a directory away needs root

  // A parent directory of another user's: they could rename the commands directory away and
  // put their own in its place after the start.
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  const std::string theirs = temp_dir() + "/theirs";
  std::filesystem::create_directory(theirs);
  std::filesystem::rename(dir, theirs + "/commands");
  ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
  auto& parent = start({"--commands", theirs + "/commands", test_worker_binary()});
  EXPECT_EQ(parent.wait_exit(10s), 2);
  EXPECT_NE(parent.output().find(theirs + " is owned by uid 65534"), std::string::npos)
      << parent.output();
}

}  // namespace
}  // namespace cservice::testing
