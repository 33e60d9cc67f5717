#include <fmt/format.h>

#include <memory>

#include "base/log.hpp"
#include "commands/registry.hpp"
#include "commands/test_run.hpp"

namespace cservice::commands {

Command test_command() {
  return {
      "test",
      "test testScript [timeout] [{\"timeout\": ms, \"args\": [...]}]",
      "Runs a test script against the running service, with its address and access key in the "
      "environment (CSERVICE_URL, CSERVICE_HOST, CSERVICE_PORT, CSERVICE_ACCESS_KEY) and the "
      "master's working directory as the base of a relative path. Exit status 0 passes; any "
      "other fails with the end of its output. Past `timeout` ms (0, the default: none) it is "
      "killed with its process group and fails. Answers when it is over.",
      // It runs a program of the caller's choosing, as the master's user: local by default.
      TrustLevel::Local,
      [](Context& context, const Registry&, const std::vector<nlohmann::json>& args, Reply reply) {
        auto run = parse_test_run(args);
        if (!run) {
          reply.fail(run.error());
          return;
        }
        if (!context.run_test) {
          reply.fail(make_error(errc::internal, "test: this service has no test runner"));
          return;
        }
        log::info("test {}: running ({})", run->script,
                  run->timeout ? fmt::format("time-out {} ms", run->timeout->count())
                               : std::string("no time-out"));
        auto shared = std::make_shared<Reply>(std::move(reply));
        (void)context.run_test(*run, [shared, run = *run](TestOutcome outcome) {
          auto answer = test_answer(run, outcome);
          if (answer) {
            log::info("test {}: passed in {} ms", run.script, outcome.duration.count());
            shared->ok(std::move(*answer));
          } else {
            const std::string& text = answer.error().message;
            log::info("{}", text.substr(0, text.find('\n')));
            shared->fail(answer.error());
          }
        });
      },
  };
}

}  // namespace cservice::commands
