#include "control_fixture.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "base/log.hpp"
#include "supervisor/supervisor.hpp"

namespace cservice::fuzz {
namespace {

using commands::TrustLevel;

// Every start "succeeds" with the next pid; nothing runs.
class FakeSpawner final : public supervisor::Spawner {
 public:
  Result<Pid> start(WorkerId, const supervisor::ProgramSpec&) override { return Pid{next_++}; }
  void stop(WorkerId, Pid, supervisor::StopMode) override {}

 private:
  pid_t next_ = 1000;
};

[[noreturn]] void die(std::string_view what) {
  std::fprintf(stderr, "fuzz: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

supervisor::Policy two_workers() {
  supervisor::Policy policy;
  policy.worker_count = 2;
  return policy;
}

class Fixture final : public ControlFixture {
 public:
  Fixture() {
    log::set_sink([](log::Level, std::string_view line) {
      if (line.starts_with("bug:")) die(line);
    });
    supervisor_.start();
    supervisor_.on_ready(Pid{1000});
    supervisor_.on_status(Pid{1000}, "serving");

    commands::add_builtins(registry_);
    for (const char* acting : {"restart", "upgrade", "rollback", "start", "shutdown", "exit", "test"}) {
      registry_.override_level(acting, TrustLevel::Disabled);
    }
    registry_.add({"echo", "echo [args...]", "Answers its arguments.", TrustLevel::Remote,
                   [](commands::Context&, const commands::Registry&,
                      const std::vector<nlohmann::json>& args, commands::Reply reply) {
                     reply.ok({{"args", args}});
                   }});
  }

  controlplane::ControlPlane& plane() override { return plane_; }

 private:
  static std::vector<controlplane::AccessKey> keys() {
    return {{std::string(kKey), std::nullopt},
            {std::string(kLimitedKey), std::set<std::string>{"version", "echo"}}};
  }

  FakeClock clock_;
  FakeSpawner spawner_;
  supervisor::EventBus events_;
  supervisor::Supervisor supervisor_{
      two_workers(), {"/srv/app", {"--port", "8080"}, {}}, spawner_, clock_, events_};
  commands::Registry registry_;
  commands::Context context_{
      supervisor_,
      clock_,
      clock_.now(),
      "0.0-fuzz",
      [](Pid) {
        return commands::ProcessStats{4096, 0.5};
      },
      [](bool, std::optional<Milliseconds>) { die("shutdown_service ran: it is disabled"); }};
  controlplane::ControlPlane plane_{
      registry_, context_, controlplane::AccessPolicy(keys(), controlplane::loopback_networks()),
      /*allow_http_get=*/true};
};

}  // namespace

ControlFixture& ControlFixture::get() {
  // Never destroyed: LeakSanitizer sees it reachable, and no destructor runs at exit.
  static auto* fixture = new Fixture;
  return *fixture;
}

void check_outcome(const controlplane::Outcome& outcome) {
  switch (outcome.status) {
    case 200:
    case 400:
    case 401:
    case 404:
    case 405:
      return;
    default:
      die("unexpected outcome " + std::to_string(outcome.status) + ": " + outcome.error);
  }
}

}  // namespace cservice::fuzz
