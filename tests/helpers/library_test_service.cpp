// library_test_service: a library-mode program for the integration tests, with commands that
// misbehave on purpose and workers that talk to their master.
//
//   library_test_service '<options JSON>' [worker mode]
//
// Worker modes (the workers get the same arguments):
//   ask          call("workers") on the master, print "asked: <status> <answer>", then serve
//   raise        trigger("fromWorker", ..., "hello", <worker id>) on the master, print its answer
//   start        call cservice::start() (refused in a worker), print "start in worker: <status>"
//   (none)       just ready
// Every worker then waits for its stop signal (on_stop) and exits 0.
//
// Master commands, besides the built-ins:
//   throws           throws std::runtime_error
//   never            keeps its Reply and never answers (time-out 300 ms)
//   dropped          drops its Reply unanswered
//   later MS         answers {"waited": MS} from another thread after MS milliseconds
//   relay NAME ARGS  trigger(NAME, ARGS...) from the master's code; answers with its answer
//   from-thread NAME call(NAME) from a thread of the master's own; answers with its answer
//   lockdown         control({{"version", "local"}}) at runtime
//   secret           registered with level local
//   health           overrides the built-in: {"custom": true}
//   test ARGS        overrides the built-in, keeping its help and level: {"customTest": ARGS}
// Subscribers print "event NAME DATA" for workerStart, fromWorker and operation. A control() and an on()
// with a bad level are refused before start ("refused: ...").

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cservice/service.hpp>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

nlohmann::json answer_json(const cservice::Answer& answer) {
  return {{"status", answer.status}, {"result", answer.result}, {"error", answer.error}};
}

int run_worker(const std::string& mode) {
  if (mode == "ask") {
    const auto answer = cservice::call("workers");
    std::printf("asked: %d %s\n", answer.status,
                answer.ok() ? answer.result.dump().c_str() : answer.error.c_str());
  } else if (mode == "raise") {
    cservice::trigger(
        "fromWorker",
        [](const cservice::Answer& answer) {
          std::printf("raised: %s\n", answer_json(answer).dump().c_str());
        },
        "hello", cservice::worker_id());
  } else if (mode == "start") {
    std::printf("start in worker: %d\n", cservice::start({{"workerCount", 1}}));
  }
  std::fflush(stdout);
  std::mutex mutex;
  std::condition_variable stopped;
  bool stop = false;
  cservice::on_stop([&] {
    std::lock_guard lock(mutex);
    stop = true;
    stopped.notify_all();
  });
  cservice::worker_ready();
  std::unique_lock lock(mutex);
  stopped.wait(lock, [&] { return stop; });
  return 0;
}

void add_commands() {
  cservice::on("throws", [](const cservice::Args&, cservice::Reply) {
    throw std::runtime_error("the handler threw on purpose");
  });
  static std::vector<cservice::Reply> kept;  // never answered
  cservice::on("never", [](const cservice::Args&, cservice::Reply reply) { kept.push_back(reply); },
               {"never", "Never answers.", "", std::chrono::milliseconds(300)});
  cservice::on("dropped", [](const cservice::Args&, cservice::Reply) {});
  cservice::on("later", [](const cservice::Args& args, cservice::Reply reply) {
    const int ms = !args.empty() && args[0].is_number_integer() ? args[0].get<int>() : 10;
    std::thread([reply, ms] {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      reply.ok({{"waited", ms}});
    }).detach();
  });
  cservice::on("relay", [](const cservice::Args& args, cservice::Reply reply) {
    if (args.empty() || !args[0].is_string()) {
      reply.fail("relay: expected a command or event name", 400);
      return;
    }
    cservice::trigger_args(
        args[0].get<std::string>(), cservice::Args(args.begin() + 1, args.end()),
        [reply](const cservice::Answer& answer) { reply.ok(answer_json(answer)); });
  });
  cservice::on("from-thread", [](const cservice::Args& args, cservice::Reply reply) {
    const std::string name =
        !args.empty() && args[0].is_string() ? args[0].get<std::string>() : "version";
    std::thread([reply, name] { reply.ok(answer_json(cservice::call(name))); }).detach();
  });
  cservice::on("lockdown", [](const cservice::Args&, cservice::Reply reply) {
    cservice::control({{"version", "local"}});
    reply.ok({{"version", "local"}});
  });
  cservice::on("secret",
               [](const cservice::Args&, cservice::Reply reply) { reply.ok("local only"); },
               {"secret", "For local callers.", "local"});
  cservice::on("health", [](const cservice::Args&, cservice::Reply reply) {
    reply.ok({{"custom", true}});
  });
  cservice::on("test", [](const cservice::Args& args, cservice::Reply reply) {
    reply.ok({{"customTest", args}});
  });
  for (const char* event : {"workerStart", "fromWorker", "operation"}) {
    cservice::on(event, [](const cservice::Event& e) {
      std::printf("event %s %s\n", e.name.c_str(), e.data.dump().c_str());
      std::fflush(stdout);
    });
  }
  cservice::control({{"workers", "local"}});
  // Bad levels are refused and change nothing.
  try {
    cservice::control({{"exit", "sideways"}, {"version", "disabled"}});
  } catch (const std::invalid_argument& e) {
    std::printf("refused: %s\n", e.what());
  }
  try {
    cservice::on(
        "bad", [](const cservice::Args&, cservice::Reply reply) { reply.ok(); },
        {"bad", "Never registered.", "sideways"});
  } catch (const std::invalid_argument& e) {
    std::printf("refused: %s\n", e.what());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 2 ? argv[2] : "";
  if (cservice::is_worker()) return run_worker(mode);
  nlohmann::json options = nlohmann::json::object();
  if (argc > 1) options = nlohmann::json::parse(argv[1], nullptr, /*allow_exceptions=*/false);
  if (!options.is_object()) {
    std::fprintf(stderr, "library_test_service: the first argument must be a JSON object\n");
    return 2;
  }
  add_commands();
  const int status = cservice::start(options);
  // A trigger after the service has stopped gets 503.
  cservice::trigger("version", [](const cservice::Answer& answer) {
    std::printf("after stop: %d\n", answer.status);
  });
  return status;
}
