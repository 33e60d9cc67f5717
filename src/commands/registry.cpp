#include "commands/registry.hpp"

#include "base/check.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include "os/real_path.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <limits>
#include <unistd.h>
#include <fmt/format.h>

namespace cservice::commands {
namespace {

Error bad_milliseconds(const std::string& command, std::string_view key,
                       const nlohmann::json& value) {
  return make_error(errc::bad_request,
                    fmt::format("{}: {} must be milliseconds, a whole number from 0 to {}, got {}",
                                command, key, kMaxTimeout.count(), json_text(value)));
}

Error bad_timeout(const std::string& command, const nlohmann::json& value) {
  return bad_milliseconds(command, "timeout", value);
}

}  // namespace

Reply::~Reply() {
  if (sink_) {
    log::error("bug: a command finished without answering");
    sink_(make_error(errc::internal, "internal error: the command did not answer"),
          Success::Done);
  }
}

void Reply::ok(nlohmann::json result) {
  CSERVICE_CHECK(sink_ != nullptr, "a command answered twice");
  auto sink = std::move(sink_);
  sink_ = nullptr;
  sink(std::move(result), Success::Done);
}

void Reply::accepted(nlohmann::json result) {
  CSERVICE_CHECK(sink_ != nullptr, "a command answered twice");
  auto sink = std::move(sink_);
  sink_ = nullptr;
  sink(std::move(result), Success::Accepted);
}

void Reply::fail(Error error) {
  CSERVICE_CHECK(sink_ != nullptr, "a command answered twice");
  auto sink = std::move(sink_);
  sink_ = nullptr;
  sink(std::move(error), Success::Done);
}

void Registry::add(Command command) {
  std::string name = command.name;
  commands_.insert_or_assign(std::move(name), std::move(command));
}

const Command* Registry::find(const std::string& name) const {
  const auto it = commands_.find(name);
  return it == commands_.end() ? nullptr : &it->second;
}

TrustLevel Registry::required_level(const std::string& name) const {
  if (const auto it = overrides_.find(name); it != overrides_.end()) return it->second;
  const Command* command = find(name);
  return command != nullptr ? command->level : TrustLevel::Disabled;
}

void add_builtins(Registry& registry) {
  registry.add(help_command());
  registry.add(workers_command());
  registry.add(health_command());
  registry.add(info_command());
  registry.add(version_command());
  registry.add(restart_command());
  registry.add(upgrade_command());
  registry.add(shutdown_command());
  registry.add(start_command());
  registry.add(exit_command());
  registry.add(test_command());
  registry.add(rollback_command());
  registry.add(operations_command());
  registry.add(wait_command());
  registry.add(cancel_command());
}

Result<std::optional<Pid>> parse_target(const std::string& command,
                                        const std::vector<nlohmann::json>& args, std::size_t at) {
  if (args.size() > at) {
    const auto& target = args[at];
    if (target == "all") return std::optional<Pid>();
    if (target.is_number_integer() && target.get<long long>() > 0 &&
        target.get<long long>() <= std::numeric_limits<pid_t>::max()) {
      return std::optional<Pid>(Pid{static_cast<pid_t>(target.get<long long>())});
    }
    // A pid written as a string ("1234", as a script may quote it).
    if (target.is_string()) {
      const std::string& text = target.get_ref<const std::string&>();
      pid_t pid = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
      if (ec == std::errc() && end == text.data() + text.size() && pid > 0) {
        return std::optional<Pid>(Pid{pid});
      }
    }
  }
  return make_error(errc::bad_request,
                    fmt::format("{}: expected 'all' or a worker pid{}", command,
                                args.size() > at ? ", got " + json_text(args[at]) : ""));
}

Result<nlohmann::json> parse_options(const std::string& command,
                                     const std::vector<nlohmann::json>& args, std::size_t at,
                                     std::initializer_list<const char*> allowed) {
  if (args.size() <= at) return nlohmann::json::object();
  if (args.size() > at + 1) {
    return make_error(errc::bad_request, fmt::format("{}: too many arguments", command));
  }
  const auto& options = args[at];
  if (!options.is_object()) {
    return make_error(errc::bad_request,
                      fmt::format("{}: expected an options object, got {}", command,
                                  json_text(options)));
  }
  for (const auto& item : options.items()) {
    const std::string& key = item.key();  // a structured binding: clang 14 cannot capture it
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      return make_error(errc::bad_request, fmt::format("{}: unknown option '{}'", command, key));
    }
  }
  return options;
}

Result<nlohmann::json> parse_trailing(const std::string& command,
                                      const std::vector<nlohmann::json>& args, std::size_t at,
                                      std::initializer_list<const char*> positional,
                                      std::initializer_list<const char*> allowed) {
  std::size_t end = args.size();
  nlohmann::json options = nlohmann::json::object();
  if (end > at && args[end - 1].is_object()) {
    auto given = parse_options(command, args, end - 1, allowed);
    if (!given) return given.error();
    options = std::move(*given);
    --end;
  }
  // A number is the timeout (a bad one is then named as such), anything else the cwd.
  const auto fits = [](std::string_view name, const nlohmann::json& value) {
    return name == "timeout" ? value.is_number() : value.is_string();
  };
  const std::vector<const char*> names(positional);
  std::size_t next = 0;
  nlohmann::json from_positions = nlohmann::json::object();
  for (std::size_t i = at; i < end; ++i) {
    const nlohmann::json& value = args[i];
    // An optional cwd may be left out before a timeout: `start ./server 5000`.
    while (next + 1 < names.size() && !fits(names[next], value) && fits(names[next + 1], value)) {
      ++next;
    }
    if (next >= names.size()) {
      return make_error(errc::bad_request, fmt::format("{}: unexpected argument {} (see help {})",
                                                       command, json_text(value), command));
    }
    if (!fits(names[next], value)) {
      if (std::string_view(names[next]) == "timeout") return bad_timeout(command, value);
      return make_error(errc::bad_request, fmt::format("{}: {} must be a path, got {}", command,
                                                       names[next], json_text(value)));
    }
    from_positions[names[next++]] = value;
  }
  for (const auto& [name, value] : from_positions.items()) {
    if (!options.contains(name)) options[name] = value;
  }
  return options;  // the caller checks the timeout (timeout_option), wherever it came from
}

Result<TargetArgs> parse_target_args(const std::string& command,
                                     const std::vector<nlohmann::json>& args, std::size_t at,
                                     std::initializer_list<const char*> positional,
                                     std::initializer_list<const char*> allowed) {
  auto target = parse_target(command, args, 0);
  if (!target) return target.error();
  auto options = parse_trailing(command, args, at, positional, allowed);
  if (!options) return options.error();
  auto timeout = timeout_option(command, *options);
  if (!timeout) return timeout.error();
  return TargetArgs{*target, std::move(*options), *timeout};
}

Result<std::string> checked_program(const std::string& command, const nlohmann::json& arg) {
  if (!arg.is_string() || arg.get<std::string>().empty()) {
    return make_error(errc::bad_request,
                      fmt::format("{}: expected the program's path{}", command,
                                  arg.is_null() ? "" : ", got " + json_text(arg)));
  }
  std::error_code ec;
  const std::string named =
      without_dot_components(std::filesystem::absolute(arg.get<std::string>(), ec).string());
  // Resolved now, links and all: the workers keep this release when a deploy re-points
  // `current`. It is also one name for one program however it was given ("./server",
  // "server", "current/server"), so `health` does not see two programs where there is one.
  auto resolved = os::real_path(fmt::format("{}: program", command), named);
  if (!resolved) return Error{make_error_code(errc::bad_request), resolved.error().message};
  const std::string& path = *resolved;
  if (std::filesystem::is_directory(path, ec)) {
    return make_error(errc::bad_request, fmt::format("{}: program {}: is a directory", command,
                                                     os::path_and_target(named, path)));
  }
  if (::access(path.c_str(), X_OK) != 0) {
    return make_error(errc::bad_request,
                      fmt::format("{}: program {}: {}", command, os::path_and_target(named, path),
                                  std::strerror(errno)));
  }
  if (path != named) log::info("{}: {} is {}", command, named, path);
  return path;
}

Result<void> apply_program_options(const std::string& command, const nlohmann::json& options,
                                   supervisor::ProgramSpec& spec) {
  // A cwd once named through a link (`/srv/app/current`) and not given now is followed again:
  // the new release's directory, not the one the running workers were started in.
  const bool follow = !options.contains("cwd") && !spec.cwd_as_named.empty();
  if (options.contains("cwd") || follow) {
    if (!follow && !options["cwd"].is_string()) {
      return make_error(errc::bad_request, fmt::format("{}: cwd must be a path", command));
    }
    std::error_code ec;
    const std::string named = follow ? spec.cwd_as_named : options["cwd"].get<std::string>();
    if (named.empty()) {
      // Not a way to say "the master's": that would silently move workers out of their release.
      return make_error(errc::bad_request,
                        fmt::format("{}: cwd must be a directory, got \"\" (leave it out for the "
                                    "program's current one)",
                                    command));
    }
    std::string cwd;  // empty: the master's
    std::string as_named;
    if (!named.empty()) {
      const std::string absolute =
          without_dot_components(std::filesystem::absolute(named, ec).string());
      // Resolved now, as the program is: the workers keep this release's directory.
      auto resolved = os::real_path(fmt::format("{}: cwd", command), absolute);
      if (!resolved) {
        const bool missing = resolved.error().code == std::errc::no_such_file_or_directory;
        return make_error(
            errc::bad_request,
            fmt::format("{}: cwd {}: {}", command,
                        os::path_and_target(absolute, os::followed_path(absolute)),
                        missing ? "does not exist" : resolved.error().code.message()));
      }
      if (!std::filesystem::is_directory(*resolved, ec)) {
        return make_error(errc::bad_request, fmt::format("{}: cwd {} is not a directory", command,
                                                         os::path_and_target(absolute, *resolved)));
      }
      if (*resolved != absolute) {
        log::info("{}: cwd {} is {}", command, absolute, *resolved);
        as_named = absolute;
      }
      cwd = std::move(*resolved);
    }
    spec.cwd = std::move(cwd);
    spec.cwd_as_named = std::move(as_named);
  }
  if (options.contains("args")) {
    const auto& list = options["args"];
    if (!list.is_array() ||
        std::any_of(list.begin(), list.end(), [](const auto& a) { return !a.is_string(); })) {
      return make_error(errc::bad_request,
                        fmt::format("{}: args must be an array of strings", command));
    }
    spec.args = list.get<std::vector<std::string>>();
  }
  return {};
}

void answer_when_done(
    Reply reply,
    const std::function<Result<void>(std::function<void(Result<nlohmann::json>)>)>& begin) {
  // A completion is copyable; the reply is not: share it.
  auto shared = std::make_shared<Reply>(std::move(reply));
  auto begun = begin([shared](Result<nlohmann::json> result) {
    if (result) {
      shared->ok(std::move(*result));
    } else {
      shared->fail(result.error());
    }
  });
  if (!begun) shared->fail(begun.error());
}

Result<std::optional<Milliseconds>> milliseconds_option(const std::string& command,
                                                        const nlohmann::json& options,
                                                        const char* key) {
  if (!options.contains(key)) return std::optional<Milliseconds>();
  const auto& m = options[key];
  if (!m.is_number_integer() || m.get<long long>() < 0 || m.get<long long>() > kMaxTimeout.count()) {
    return bad_milliseconds(command, key, m);
  }
  return std::optional<Milliseconds>(Milliseconds(m.get<long long>()));
}

Result<std::optional<Milliseconds>> timeout_option(const std::string& command,
                                                   const nlohmann::json& options) {
  return milliseconds_option(command, options, "timeout");
}

std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

long long milliseconds_between(TimePoint from, TimePoint to) {
  return std::chrono::duration_cast<Milliseconds>(to - from).count();
}

}  // namespace cservice::commands
