// Library mode (include/cservice/service.hpp): start() runs serve() with hooks that add what
// the program registered with on() and control(), and keeps a pointer to the running service
// so that on(), control() and trigger() from any thread reach it on its loop.
//
// All shared state is in one Library object behind one mutex. User code (handlers, callbacks)
// never runs under the mutex: it is copied out first.

#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fstream>
#include <future>
#include <mutex>
#include <stdexcept>

#include "app/master_client.hpp"
#include "app/modes.hpp"
#include "base/log.hpp"
#include "commands/answer.hpp"
#include "commands/trust_level.hpp"
#include "config/options.hpp"
#include "cservice/service.hpp"

namespace cservice {

// The shared answer behind every copy of a Reply.
struct Reply::State {
  std::mutex mutex;
  std::function<void(Answer)> sink;  // reset once answered
  ~State() {
    if (sink) sink({500, nullptr, "the command finished without answering"});
  }
};

void Reply::ok(nlohmann::json result) const {
  std::function<void(Answer)> sink;
  {
    std::lock_guard lock(state_->mutex);
    sink = std::move(state_->sink);
    state_->sink = nullptr;
  }
  if (sink) sink({200, std::move(result), {}});
}

void Reply::fail(std::string message, int status) const {
  std::function<void(Answer)> sink;
  {
    std::lock_guard lock(state_->mutex);
    sink = std::move(state_->sink);
    state_->sink = nullptr;
  }
  if (status != 400 && status != 404) status = 500;
  if (sink) sink(commands::failure(status, std::move(message)));
}

bool Reply::answered() const {
  std::lock_guard lock(state_->mutex);
  return !state_->sink;
}

namespace {

using commands::TrustLevel;

struct CustomCommand {
  CommandHandler handler;
  CommandInfo info;
};

struct Library {
  std::mutex mutex;
  std::map<std::string, CustomCommand> commands;
  std::vector<std::pair<std::string, EventHandler>> subscribers;
  std::map<std::string, TrustLevel> levels;
  app::Running* running = nullptr;  // while start() serves; used on its loop only
  boost::asio::io_context* io = nullptr;
  bool started = false;

  // Runs `fn` on the loop if the service is running; returns false otherwise.
  bool post(std::function<void(app::Running&)> fn) {
    std::lock_guard lock(mutex);
    if (io == nullptr) return false;
    boost::asio::post(*io, [this, fn = std::move(fn)] {
      if (running != nullptr) fn(*running);
    });
    return true;
  }
};

// Never destroyed: a Reply kept in a static of the program may be released after every other
// static is gone, and still reaches here.
Library& library() {
  static auto* instance = new Library;
  return *instance;
}

// The registry's Command for a custom command: runs the handler with a public Reply, and
// answers 504 if no answer comes within the time-out.
commands::Command make_command(const std::string& name, const CustomCommand& custom,
                               const commands::Command* builtin, app::Running& running) {
  const CommandInfo& info = custom.info;
  commands::Command command;
  command.name = name;
  command.usage = !info.usage.empty() ? info.usage : builtin != nullptr ? builtin->usage : name;
  command.description = !info.description.empty() ? info.description
                        : builtin != nullptr      ? builtin->description
                                                  : "A custom command of this service.";
  command.level = builtin != nullptr ? builtin->level : TrustLevel::Remote;
  if (!info.level.empty()) {
    if (auto level = commands::parse_trust_level(info.level)) command.level = *level;
  }
  const Milliseconds timeout =
      info.timeout.count() > 0 ? Milliseconds(info.timeout.count()) : running.command_timeout;
  command.run = [name, handler = custom.handler, timeout, &io = running.io](
                    commands::Context&, const commands::Registry&,
                    const std::vector<nlohmann::json>& args, commands::Reply reply) {
    // Owned by the loop: the caller's Reply, answered by whichever comes first, the handler or
    // the timer.
    struct Pending {
      std::optional<commands::Reply> reply;
      boost::asio::steady_timer timer;
      Pending(commands::Reply r, boost::asio::io_context& io) : reply(std::move(r)), timer(io) {}
      void answer(const Answer& answer) {
        if (!reply) return;
        if (answer.ok()) {
          reply->ok(answer.result);
        } else {
          reply->fail(make_error(commands::code_of_status(answer.status), answer.error));
        }
        reply.reset();
        timer.cancel();
      }
    };
    // Only the timer's handler owns it, until the time-out or the answer (which cancels the
    // timer); the Reply refers to it weakly, so a Reply kept past the service's end holds
    // nothing of the loop.
    auto pending = std::make_shared<Pending>(std::move(reply), io);
    pending->timer.expires_after(timeout);
    pending->timer.async_wait([pending, name, timeout](const boost::system::error_code& ec) {
      if (ec) return;
      log::warn("command '{}': no answer within {} ms", name, timeout.count());
      pending->answer(
          {504, nullptr, fmt::format("{}: no answer within {} ms", name, timeout.count())});
    });
    auto state = std::make_shared<Reply::State>();
    // The handler may answer from any thread: the answer goes to the loop. If the loop has
    // gone (the service stopped), there is no caller left to tell.
    state->sink = [weak = std::weak_ptr<Pending>(pending)](Answer answer) {
      library().post([weak, answer = std::move(answer)](app::Running&) {
        if (auto p = weak.lock()) p->answer(answer);
      });
    };
    try {
      handler(args, Reply(std::move(state)));
    } catch (const std::exception& e) {
      log::error("command '{}' threw: {}", name, e.what());
      pending->answer({500, nullptr, fmt::format("{}: {}", name, e.what())});
    } catch (...) {
      log::error("command '{}' threw", name);
      pending->answer({500, nullptr, fmt::format("{}: failed", name)});
    }
  };
  return command;
}

void add_command(app::Running& running, const std::string& name, const CustomCommand& custom) {
  // The built-in it replaces (for its level and help), if this name has one. A second on() of
  // the same name finds the first custom command here, whose own defaults it keeps.
  const commands::Command* existing = running.registry.find(name);
  running.registry.add(make_command(name, custom, existing, running));
}

void subscribe(app::Running& running, const std::string& name, EventHandler handler) {
  running.events.subscribe(name, [name, handler = std::move(handler)](const supervisor::Event& e) {
    try {
      handler(Event{e.name, e.data});
    } catch (const std::exception& ex) {
      log::error("subscriber of event '{}' threw: {}", name, ex.what());
    } catch (...) {
      log::error("subscriber of event '{}' threw", name);
    }
  });
}

// The arguments of this process, for workers that run this same executable.
std::vector<std::string> own_arguments() {
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(file, arg, '\0');) args.push_back(arg);
  if (!args.empty()) args.erase(args.begin());
  return args;
}

std::string own_executable() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

int start(const nlohmann::json& given) {
  if (is_worker()) {
    log::error("cservice::start() called in a worker: check cservice::is_worker() first");
    return app::kExitUsage;
  }
  nlohmann::json options = given.is_object() ? given : nlohmann::json::object();
  if (!given.is_object()) {
    log::error("cservice::start(): options must be a JSON object");
    return app::kExitUsage;
  }
  if (!options.contains("program") && !options.contains("workers")) {
    options["program"] = own_executable();
    if (!options.contains("args")) options["args"] = own_arguments();
  }
  auto validated = config::from_json(options, "");
  if (!validated) {
    log::error("{}", validated.error().message);
    return app::kExitUsage;
  }
  Library& lib = library();
  {
    std::lock_guard lock(lib.mutex);
    if (lib.started) {
      log::error("cservice::start(): the service is already running");
      return app::kExitUsage;
    }
    lib.started = true;
  }
  // The program's own control() overrides come after the options' `control`, so they win.
  app::ServeHooks hooks;
  hooks.on_running = [&lib](app::Running& running) {
    std::lock_guard lock(lib.mutex);
    for (const auto& [name, custom] : lib.commands) add_command(running, name, custom);
    for (const auto& [name, handler] : lib.subscribers) subscribe(running, name, handler);
    for (const auto& [name, level] : lib.levels) running.registry.override_level(name, level);
    lib.running = &running;
    lib.io = &running.io;
  };
  hooks.on_stopped = [&lib] {
    std::lock_guard lock(lib.mutex);
    lib.running = nullptr;
    lib.io = nullptr;
  };
  const int status = app::serve(*validated, hooks);
  // serve() may return before on_running (a start-up failure, or an attached console).
  hooks.on_stopped();
  std::lock_guard lock(lib.mutex);
  lib.started = false;
  return status;
}

void on_command(std::string name, CommandHandler handler, CommandInfo info) {
  if (name.empty() || !handler) throw std::invalid_argument("cservice::on(): a name and a handler");
  if (!info.level.empty() && !commands::parse_trust_level(info.level)) {
    throw std::invalid_argument(
        fmt::format("cservice::on(\"{}\"): level '{}' is not remote, local, inproc or disabled",
                    name, info.level));
  }
  Library& lib = library();
  CustomCommand custom{std::move(handler), std::move(info)};
  {
    std::lock_guard lock(lib.mutex);
    lib.commands.insert_or_assign(name, custom);
  }
  lib.post([name, custom](app::Running& running) { add_command(running, name, custom); });
}

void on_event(std::string name, EventHandler handler) {
  if (name.empty() || !handler) throw std::invalid_argument("cservice::on(): a name and a handler");
  Library& lib = library();
  {
    std::lock_guard lock(lib.mutex);
    lib.subscribers.emplace_back(name, handler);
  }
  lib.post([name, handler](app::Running& running) { subscribe(running, name, handler); });
}

void control(const std::map<std::string, std::string>& levels) {
  std::map<std::string, TrustLevel> parsed;
  for (const auto& [name, text] : levels) {
    const auto level = commands::parse_trust_level(text);
    if (!level) {
      throw std::invalid_argument(fmt::format(
          "cservice::control(): level '{}' of '{}' is not remote, local, inproc or disabled", text,
          name));
    }
    parsed.emplace(name, *level);
  }
  Library& lib = library();
  {
    std::lock_guard lock(lib.mutex);
    for (const auto& [name, level] : parsed) lib.levels.insert_or_assign(name, level);
  }
  lib.post([parsed](app::Running& running) {
    for (const auto& [name, level] : parsed) running.registry.override_level(name, level);
  });
}

void trigger_args(std::string name, Args args, Callback callback) {
  if (is_worker()) {
    const Answer answer = app::call_master(name, args, std::chrono::seconds(30));
    if (callback) callback(answer);
    return;
  }
  const bool posted =
      library().post([name, args = std::move(args), callback](app::Running& running) mutable {
        running.trigger(name, std::move(args), {TrustLevel::Inproc, "library"},
                        [name, callback](const controlplane::Outcome& outcome) {
                          if (!callback) return;
                          // User code on the loop: nothing it throws may cross the loop.
                          try {
                            callback(outcome);
                          } catch (const std::exception& e) {
                            log::error("callback of trigger('{}') threw: {}", name, e.what());
                          } catch (...) {
                            log::error("callback of trigger('{}') threw", name);
                          }
                        });
      });
  if (!posted && callback) callback({503, nullptr, "the service is not running"});
}

Answer call(std::string name, Args args, std::chrono::milliseconds timeout) {
  if (is_worker()) return app::call_master(name, args, timeout);
  Library& lib = library();
  {
    std::lock_guard lock(lib.mutex);
    if (lib.io != nullptr && lib.io->get_executor().running_in_this_thread()) {
      return {500, nullptr,
              "call() on the master's loop thread would wait for itself: use trigger()"};
    }
  }
  auto promise = std::make_shared<std::promise<Answer>>();
  auto future = promise->get_future();
  trigger_args(std::move(name), std::move(args),
               [promise](const Answer& answer) { promise->set_value(answer); });
  if (future.wait_for(timeout) != std::future_status::ready) {
    return {504, nullptr, fmt::format("no answer within {} ms", timeout.count())};
  }
  return future.get();
}

}  // namespace cservice
