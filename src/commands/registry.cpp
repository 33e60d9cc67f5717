#include "commands/registry.hpp"

#include "base/check.hpp"
#include "base/log.hpp"

namespace cservice::commands {

Reply::~Reply() {
  if (sink_) {
    log::error("bug: a command finished without answering");
    sink_(make_error(errc::bad_request, "internal error: the command did not answer"));
  }
}

void Reply::ok(nlohmann::json result) {
  CSERVICE_CHECK(sink_ != nullptr, "a command answered twice");
  auto sink = std::move(sink_);
  sink_ = nullptr;
  sink(std::move(result));
}

void Reply::fail(Error error) {
  CSERVICE_CHECK(sink_ != nullptr, "a command answered twice");
  auto sink = std::move(sink_);
  sink_ = nullptr;
  sink(std::move(error));
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
}

long long milliseconds_between(TimePoint from, TimePoint to) {
  return std::chrono::duration_cast<Milliseconds>(to - from).count();
}

}  // namespace cservice::commands
