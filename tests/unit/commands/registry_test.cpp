#include "commands/registry.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace cservice::commands {
namespace {

TEST(RegistryTest, BuiltinsHaveTheOriginalsDefaultLevels) {
  Registry registry;
  add_builtins(registry);
  for (const char* name : {"help", "workers", "health", "info", "version", "start", "restart",
                           "shutdown", "upgrade", "exit", "test", "operations", "wait", "cancel"}) {
    const Command* command = registry.find(name);
    ASSERT_NE(command, nullptr) << name;
    EXPECT_FALSE(command->usage.empty()) << name;
    EXPECT_FALSE(command->description.empty()) << name;
  }
  EXPECT_EQ(registry.required_level("exit"), TrustLevel::Local);
  EXPECT_EQ(registry.required_level("help"), TrustLevel::Local);
  EXPECT_EQ(registry.required_level("test"), TrustLevel::Local);
  EXPECT_EQ(registry.required_level("restart"), TrustLevel::Remote);
  // cancel also needs the level of the operation's command (Command::acts_as).
  EXPECT_EQ(registry.required_level("cancel"), TrustLevel::Remote);
  EXPECT_TRUE(registry.find("cancel")->acts_as);
  EXPECT_EQ(registry.required_level("nosuch"), TrustLevel::Disabled);
}

TEST(RegistryTest, OverridesWinOverDefaultsAndCustomCommandsReplaceBuiltins) {
  Registry registry;
  add_builtins(registry);
  registry.override_level("exit", TrustLevel::Inproc);
  registry.override_level("workers", TrustLevel::Disabled);
  EXPECT_EQ(registry.required_level("exit"), TrustLevel::Inproc);
  EXPECT_EQ(registry.required_level("workers"), TrustLevel::Disabled);
  registry.add({"health", "health", "ours", TrustLevel::Local, nullptr});
  EXPECT_EQ(registry.find("health")->description, "ours");
  EXPECT_EQ(registry.required_level("health"), TrustLevel::Local);
}

TEST(RegistryTest, ArgumentHelpers) {
  using nlohmann::json;
  EXPECT_FALSE(parse_target("restart", {json("all")}, 0).value().has_value());
  EXPECT_EQ(parse_target("restart", {json(42)}, 0).value(), Pid{42});
  EXPECT_EQ(parse_target("restart", {json("x")}, 0).error().message,
            "restart: expected 'all' or a worker pid, got \"x\"");
  EXPECT_EQ(parse_target("restart", {}, 0).error().message, "restart: expected 'all' or a worker pid");
  // A bare word may hold bytes that are not UTF-8: shown replaced, not thrown.
  EXPECT_EQ(parse_target("restart", {json("\xff")}, 0).error().message,
            "restart: expected 'all' or a worker pid, got \"\xef\xbf\xbd\"");
  EXPECT_EQ(parse_options("restart", {json("all"), json({{"wait", 1}})}, 1, {"timeout"}).error().message,
            "restart: unknown option 'wait'");
  EXPECT_EQ(timeout_option("restart", json({{"timeout", -5}})).error().message,
            "restart: timeout must be milliseconds, a whole number from 0 to 604800000, got -5");
  EXPECT_EQ(timeout_option("restart", json({{"timeout", 5}})).value(), Milliseconds(5));
  // A number that would overflow the deadline it becomes is refused.
  EXPECT_FALSE(timeout_option("restart", json({{"timeout", 9000000000000000000LL}})));
  EXPECT_TRUE(timeout_option("restart", json({{"timeout", 604800000}})));
}

// The seed's positional forms beside the options object, which wins where both are given.
TEST(RegistryTest, PositionalArgumentsBesideTheOptionsObject) {
  using nlohmann::json;
  const auto trailing = [](std::vector<json> args, std::size_t at) {
    return parse_trailing("upgrade", args, at, {"cwd", "timeout"}, {"cwd", "timeout", "args"});
  };
  EXPECT_EQ(trailing({"all", "./v2", "/srv", 5000}, 2).value(),
            json({{"cwd", "/srv"}, {"timeout", 5000}}));
  EXPECT_EQ(trailing({"all", "./v2", 5000}, 2).value(), json({{"timeout", 5000}}))
      << "a number where cwd could stand is the timeout";
  EXPECT_EQ(trailing({"all", "./v2", "/srv", 5000, {{"timeout", 10}}}, 2).value(),
            json({{"cwd", "/srv"}, {"timeout", 10}}));
  EXPECT_EQ(trailing({"all", "./v2"}, 2).value(), json::object());
  EXPECT_EQ(trailing({"all", "./v2", "/srv", "soon"}, 2).error().message,
            "upgrade: timeout must be milliseconds, a whole number from 0 to 604800000, got \"soon\"");
  EXPECT_EQ(trailing({"all", "./v2", "/srv", 1, 2}, 2).error().message,
            "upgrade: unexpected argument 2 (see help upgrade)");
  // A number is the timeout, checked by timeout_option whatever its place; anything else the cwd.
  EXPECT_EQ(trailing({"all", "./v2", -5}, 2).value(), json({{"timeout", -5}}));
  EXPECT_EQ(timeout_option("upgrade", trailing({"all", "./v2", 1.5}, 2).value()).error().message,
            "upgrade: timeout must be milliseconds, a whole number from 0 to 604800000, got 1.5");
  EXPECT_EQ(trailing({"all", "./v2", "/srv", "/tmp"}, 2).error().message,
            "upgrade: timeout must be milliseconds, a whole number from 0 to 604800000, got \"/tmp\"");
  EXPECT_EQ(parse_target("restart", {json("1234")}, 0).value(), Pid{1234}) << "a quoted pid";
  EXPECT_FALSE(parse_target("restart", {json("12x")}, 0));
  EXPECT_EQ(checked_program("upgrade", json()).error().message, "upgrade: expected the program's path");
  // Resolved through links (/bin/sh may be /usr/bin/dash): one program, one name.
  EXPECT_EQ(checked_program("start", json("/bin/./sh")).value(),
            std::filesystem::canonical("/bin/sh").string());
  EXPECT_EQ(trailing({"all", "./v2", {{"wait", 1}}}, 2).error().message,
            "upgrade: unknown option 'wait'");
  const auto restart = parse_target_args("restart", {"all", 2500}, 1, {"timeout"}, {"timeout"});
  ASSERT_TRUE(restart);
  EXPECT_EQ(restart->timeout, Milliseconds(2500));
  EXPECT_FALSE(restart->target.has_value());
}

TEST(RegistryTest, ProgramOptionsApplyCwdAndArgs) {
  using nlohmann::json;
  supervisor::ProgramSpec spec{"/srv/v2", {"--old"}, "/srv"};
  ASSERT_TRUE(apply_program_options("upgrade", json({{"cwd", "/tmp"}, {"args", {"-v"}}}), spec));
  EXPECT_EQ(spec.cwd, "/tmp");
  EXPECT_EQ(spec.args, std::vector<std::string>{"-v"});
  EXPECT_TRUE(apply_program_options("start", json::object(), spec));
  EXPECT_EQ(spec.cwd, "/tmp");
  EXPECT_EQ(apply_program_options("start", json({{"cwd", 3}}), spec).error().message,
            "start: cwd must be a path");
  EXPECT_EQ(apply_program_options("upgrade", json({{"args", {"-v", 2}}}), spec).error().message,
            "upgrade: args must be an array of strings");
}

TEST(RegistryTest, ReplyUnansweredAnswersInternalError) {
  std::optional<Result<nlohmann::json>> got;
  { Reply reply([&](Result<nlohmann::json> r) { got = std::move(r); }); }
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(*got);
}

}  // namespace
}  // namespace cservice::commands
