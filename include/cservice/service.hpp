#pragma once
// Library mode: cluster-service from a program's own code (link cservice::cservice). The same
// binary is the master and, re-executed, each worker, as with the original's cluster.isMaster:
//
//   int main(int argc, char** argv) {
//     if (cservice::is_worker()) return serve_requests();   // the old main, plus worker_ready()
//     cservice::on("greet", [](const cservice::Args& args, cservice::Reply reply) {
//       reply.ok({{"hello", args.empty() ? "world" : args[0]}});
//     });
//     cservice::on("workerExit", [](const cservice::Event& e) { log(e.data.dump()); });
//     cservice::control({{"exit", "local"}});
//     return cservice::start({{"accessKey", "lksjdf982734"}, {"workerCount", 4},
//                             {"listen", "8080"}});
//   }
//
// Thread safety: every function here may be called from any thread, before or while start()
// runs. Handlers and callbacks run on the master's loop thread (the thread in start()).

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cservice/command.hpp"
#include "cservice/worker.hpp"

namespace cservice {

// Runs the service: this process becomes the master and starts the workers, then serves until
// it is stopped (SIGTERM, SIGINT, the shutdown or exit command). Returns the exit status for
// main(): 0 after a clean stop; 2 for bad options or a start-up failure (one line on stderr, no
// worker started); 1 for a failure later.
//
// `options` takes the same keys as a service.json file and are checked by the same validator
// (an unknown key names the nearest valid one): accessKey, workerCount, listen,
// restartOnFailure, restartDelayMs, restartsPerMinute, host, port, control, commands,
// commandTimeoutMs, ... (see `cservice --help`). Without `program` (or the original's
// `workers`), the workers run this same executable with this process's arguments (`args`
// replaces them).
//
// Called in a worker, start() starts nothing and returns 2 at once: a worker must not become a
// master of its own (check is_worker() first).
int start(const nlohmann::json& options = nlohmann::json::object());

// Registers command `name` (replacing a built-in or an earlier one of that name), or, for a
// handler taking an Event, subscribes to event `name` (every subscriber gets each event):
//
//   cservice::on("health", [](const cservice::Args&, cservice::Reply r) { r.ok({{"db", "up"}}); });
//   cservice::on("workerStart", [](const cservice::Event& e) { ... });
template <class Handler>
void on(std::string name, Handler&& handler, CommandInfo info = {});

// The two halves of on(), by name.
void on_command(std::string name, CommandHandler handler, CommandInfo info = {});
void on_event(std::string name, EventHandler handler);

// Overrides access levels at runtime, as the `control` option does: {{"exit", "local"}}.
// Levels: remote, local, inproc, disabled. Throws std::invalid_argument for another level name
// (nothing changes then).
void control(const std::map<std::string, std::string>& levels);

// Runs command `name` with `args` at level inproc (in a worker: on the master, at level local),
// or, if there is no such command, raises event `name` with the arguments as its data.
// `callback` (may be nullptr) gets the answer: the command's, or {"event": name,
// "subscribers": n} for an event, or 404 when nothing has that name; 503 before start() or
// after the service stopped.
//
//   cservice::trigger("workers", [](const cservice::Answer& a) { ... });
//   cservice::trigger("jobDone", nullptr, "job-17", 42);   // an event
void trigger_args(std::string name, Args args, Callback callback);
template <class... A>
void trigger(std::string name, Callback callback, A&&... args) {
  trigger_args(std::move(name), Args{nlohmann::json(std::forward<A>(args))...},
               std::move(callback));
}

// trigger(), waiting for the answer at most `timeout` (then 504). For workers, and for threads
// of the master other than its loop; called on the master's loop thread it would wait for
// itself, so it answers 500 at once (use trigger() there).
Answer call(std::string name, Args args = {},
            std::chrono::milliseconds timeout = std::chrono::seconds(30));

template <class Handler>
void on(std::string name, Handler&& handler, CommandInfo info) {
  if constexpr (std::is_invocable_v<Handler&, const Event&>) {
    on_event(std::move(name), EventHandler(std::forward<Handler>(handler)));
  } else {
    static_assert(std::is_invocable_v<Handler&, const Args&, Reply>,
                  "on(): a handler is void(const cservice::Args&, cservice::Reply) for a "
                  "command or void(const cservice::Event&) for an event");
    on_command(std::move(name), CommandHandler(std::forward<Handler>(handler)), std::move(info));
  }
}

}  // namespace cservice
