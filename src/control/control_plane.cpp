#include "control/control_plane.hpp"

#include "base/log.hpp"
#include "base/text.hpp"
#include "control/command_line.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <fmt/format.h>

#include <charconv>

namespace cservice::controlplane {

namespace {

constexpr std::size_t kMaxLoggedTarget = 512;

HttpResponse to_http(const Outcome& outcome) {
  // json_text, not dump(): a result may echo bytes that are not UTF-8, and an exception here
  // would escape to the loop when the answer comes later (a library-mode command's does).
  // An error is its text alone, as the original answers (no newline added: the text is the
  // answer, the same one a worker's call() or the CLI's --json gets).
  if (outcome.ok()) {
    return {static_cast<unsigned>(outcome.status), "application/json",
            commands::json_text(outcome.result) + "\n"};
  }
  return {static_cast<unsigned>(outcome.status), "text/plain; charset=utf-8", outcome.error};
}

// The key a request presents: in an Authorization: Bearer header, else the accessKey parameter.
std::string key_of(const HttpRequest& request, const boost::urls::params_view& params) {
  if (request.authorization.starts_with("Bearer ") && request.authorization.size() > 7) {
    return request.authorization.substr(7);
  }
  if (auto it = params.find("accessKey"); it != params.end()) return (*it).value;
  return {};
}

// Says in plain words what the caller lacks.
Outcome refused(Decision decision, const std::string& name, TrustLevel required,
                TrustLevel caller) {
  switch (decision) {
    case Decision::Disabled:
      return commands::failure(401, fmt::format("'{}' is disabled", name));
    case Decision::CommandNotForKey:
      return commands::failure(401, fmt::format("this key may not run '{}'", name));
    case Decision::LevelTooLow:
      return commands::failure(401, fmt::format("'{}' needs {} access; this caller is {}", name,
                                                to_string(required), to_string(caller)));
    case Decision::BadKey:
    case Decision::Allowed:
      break;
  }
  return commands::failure(401, describe(decision));
}

// The command line of a request: `cmd`, else the body (the original appends the body to `cmd`;
// a body `cmd=<line>` is a form). Trailing line ends of a body are not part of the line.
std::optional<std::string> command_line_of(const boost::urls::params_view& params,
                                           const std::string& body) {
  // A blank `cmd=` is no command: the body may hold it.
  if (auto cmd = params.find("cmd"); cmd != params.end() &&
                                     (*cmd).value.find_first_not_of(" \t") != std::string::npos) {
    return std::string((*cmd).value);
  }
  std::string_view text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.starts_with("cmd=")) {
    const std::string target = "/?" + std::string(text);
    if (auto form = boost::urls::parse_origin_form(target)) {
      const auto fields = form->params();
      if (auto cmd = fields.find("cmd"); cmd != fields.end()) return std::string((*cmd).value);
    }
  }
  if (text.find_first_not_of(" \t") == std::string_view::npos) return std::nullopt;
  return std::string(text);
}

}  // namespace

std::string mask_key(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return "(unparsable target)";
  boost::urls::url url(*parsed);
  auto params = url.params();
  // Every one: a client may send two (only the first is read as the key, but the second is
  // a secret all the same), or spell the name in another case or percent-encoded.
  for (auto it = params.find("accessKey", boost::urls::ignore_case); it != params.end();
       it = params.find(std::next(it), "accessKey", boost::urls::ignore_case)) {
    it = params.set(it, "***");
  }
  return sanitize_text(url.buffer(), kMaxLoggedTarget);
}

ControlPlane::ControlPlane(commands::Registry& registry, commands::Context& context,
                           AccessPolicy access, bool allow_http_get)
    : registry_(registry),
      context_(context),
      access_(std::move(access)),
      allow_http_get_(allow_http_get),
      refusals_(std::make_shared<RateLimiter>(context.clock)) {}

std::function<void(Outcome)> ControlPlane::audited(std::string command, Caller caller,
                                                  std::optional<std::size_t> key,
                                                  std::function<void(Outcome)> done) const {
  if (!audit_) return done;
  return [audit = audit_, command = std::move(command), caller = std::move(caller), key,
          done = std::move(done)](Outcome outcome) {
    audit(AuditRecord{command, caller, key, outcome});
    done(std::move(outcome));
  };
}

void ControlPlane::run(std::string_view text, std::string_view key, Caller caller,
                       std::function<void(Outcome)> done) {
  const auto key_index = access_.match_key(key);
  auto line = parse_command_line(text);
  if (!line) {
    // Before the key check only for the console, which holds no key; others learn nothing
    // about the service before their key is accepted.
    if (caller.level == TrustLevel::Inproc || key_index) {
      done(commands::failure(400, line.error().message));
    } else {
      done(commands::failure(401, describe(Decision::BadKey)));
    }
    return;
  }
  const commands::Command* command = registry_.find(line->name);
  const TrustLevel required = registry_.required_level(line->name);
  const Decision decision = access_.decide(key, caller.level, line->name, required);
  if (decision == Decision::BadKey) {
    done(commands::failure(401, describe(decision)));
    return;
  }
  const TrustLevel level = caller.level;
  done = audited(line->name, std::move(caller), key_index, std::move(done));
  if (command == nullptr) {
    done(commands::failure(404, fmt::format("unknown command '{}' (try help)", line->name)));
    return;
  }
  if (decision != Decision::Allowed) {
    done(refused(decision, line->name, required, level));
    return;
  }
  if (const auto other = acted_on(*command, line->args)) {
    const TrustLevel needs = registry_.required_level(*other);
    if (const Decision also = access_.decide(key, level, *other, needs);
        also != Decision::Allowed) {
      done(refused(also, *other, needs, level));
      return;
    }
  }
  dispatch(*command, line->args, std::move(done));
}

void ControlPlane::run_trusted(const std::string& name, std::vector<nlohmann::json> args,
                               Caller caller, std::function<void(Outcome)> done) {
  const TrustLevel level = caller.level;
  done = audited(name, std::move(caller), std::nullopt, std::move(done));
  const commands::Command* command = registry_.find(name);
  if (command == nullptr) {
    done(commands::failure(404, fmt::format("unknown command '{}' (try help)", name)));
    return;
  }
  const TrustLevel required = registry_.required_level(name);
  if (const Decision decision = AccessPolicy::decide_level(level, required);
      decision != Decision::Allowed) {
    done(refused(decision, name, required, level));
    return;
  }
  if (const auto other = acted_on(*command, args)) {
    const TrustLevel needs = registry_.required_level(*other);
    if (const Decision also = AccessPolicy::decide_level(level, needs);
        also != Decision::Allowed) {
      done(refused(also, *other, needs, level));
      return;
    }
  }
  dispatch(*command, args, std::move(done));
}

std::optional<std::string> ControlPlane::acted_on(const commands::Command& command,
                                                  const std::vector<nlohmann::json>& args) const {
  if (!command.acts_as) return std::nullopt;
  return command.acts_as(context_, args);
}

void ControlPlane::dispatch(const commands::Command& command,
                            const std::vector<nlohmann::json>& args,
                            std::function<void(Outcome)> done) {
  if (command.max_args && args.size() > *command.max_args) {
    done(commands::failure(400, fmt::format("{}: unexpected argument {} (see help {})",
                                            command.name,
                                            commands::json_text(args[*command.max_args]),
                                            command.name)));
    return;
  }
  commands::Reply reply(
      [done = std::move(done)](Result<nlohmann::json> result, commands::Success success) {
        done(commands::answer_of(std::move(result), success));
      });
  // No exception may cross the loop: a throwing command is a bug, logged; its Reply, destroyed
  // unanswered on the way out, answers "internal error".
  try {
    command.run(context_, registry_, args, std::move(reply));
  } catch (const std::exception& e) {
    log::error("bug: command '{}' threw: {}", command.name, e.what());
  }
}

bool ControlPlane::authenticates(const HttpRequest& head) const {
  auto parsed = boost::urls::parse_origin_form(head.target);
  if (!parsed) return false;
  return access_.match_key(key_of(head, parsed->params())).has_value();
}

void ControlPlane::on_events(const HttpRequest& request, const boost::urls::params_view& params,
                             HttpServer::Respond respond) {
  const std::string logged = fmt::format("control: {} {} {}", request.peer.to_string(),
                                         request.method, mask_key(request.target));
  const auto refuse = [&](unsigned status, std::string text) {
    if (const auto held = refusals_->admit(fmt::format("http {}", status))) {
      log::info("{} -> {}{}", logged, status, suppressed_note(*held));
    }
    respond({status, "text/plain; charset=utf-8", std::move(text)});
  };
  const std::string key = key_of(request, params);
  const TrustLevel level = access_.peer_level(request.peer);
  const TrustLevel required = registry_.required_level("events", kEventsLevel);
  if (const Decision decision = access_.decide(key, level, "events", required);
      decision != Decision::Allowed) {
    refuse(401, decision == Decision::BadKey ? describe(decision)
                                             : refused(decision, "events", required, level).error);
    return;
  }
  if (request.method != "GET") {
    refuse(405, "use GET /events");
    return;
  }
  // Where to resume: the Last-Event-ID header (an EventSource's reconnection), else the
  // lastEventId parameter.
  std::string resume = request.last_event_id;
  if (resume.empty()) {
    if (auto it = params.find("lastEventId"); it != params.end()) resume = (*it).value;
  }
  std::optional<std::uint64_t> last_id;
  if (!resume.empty()) {
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(resume.data(), resume.data() + resume.size(), value);
    if (error != std::errc() || end != resume.data() + resume.size()) {
      refuse(400, fmt::format("bad Last-Event-ID '{}': expected an event id (a number)",
                              sanitize_text(resume, 64)));
      return;
    }
    last_id = value;
  }
  auto stream = events_->follow(last_id);
  if (!stream) {
    refuse(503, "the service is stopping");
    return;
  }
  log::info("{} -> 200 (following events{})", logged,
            last_id ? fmt::format(" after {}", *last_id) : "");
  respond({200, "text/event-stream; charset=utf-8", {}, std::move(stream)});
}

void ControlPlane::on_http(HttpRequest request, HttpServer::Respond respond) {
  if (events_ != nullptr) {
    if (auto parsed = boost::urls::parse_origin_form(request.target);
        parsed && parsed->path() == "/events") {
      on_events(request, parsed->params(), std::move(respond));
      return;
    }
  }
  const std::string logged = fmt::format("control: {} {} {}", request.peer.to_string(),
                                         request.method, mask_key(request.target));
  auto answer = [refusals = refusals_, respond = std::move(respond),
                 logged](const Outcome& outcome) {
    if (outcome.status < 400) {
      log::info("{} -> {}", logged, outcome.status);
    } else if (const auto held = refusals->admit(fmt::format("http {}", outcome.status))) {
      log::info("{} -> {}{}", logged, outcome.status, suppressed_note(*held));
    }
    // The outcome may come from deep inside a command's completion: nothing may be thrown back.
    try {
      respond(to_http(outcome));
    } catch (const std::exception& e) {
      log::error("bug: {}: answering failed: {}", logged, e.what());
      respond({500, "text/plain; charset=utf-8", "internal error"});
    }
  };
  auto parsed = boost::urls::parse_origin_form(request.target);
  if (!parsed) {
    answer(commands::failure(400, "malformed request target"));
    return;
  }
  if (parsed->path() != "/cli") {
    answer(commands::failure(
        404, fmt::format("unknown path '{}': use POST /cli?cmd=...", std::string(parsed->path()))));
    return;
  }
  if (request.method != "POST" && !(request.method == "GET" && allow_http_get_)) {
    answer(commands::failure(405, request.method == "GET"
                                      ? "GET is not allowed (allowHttpGet is off): use POST"
                                      : "use POST"));
    return;
  }
  const auto params = parsed->params();
  const std::string key = key_of(request, params);
  const auto line = command_line_of(params, request.body);
  if (!line && !access_.match_key(key)) {
    // Only a key holder learns anything, even that a command is missing.
    answer(commands::failure(401, describe(Decision::BadKey)));
    return;
  }
  if (!line) {
    // No command is a command not found, as the original says.
    answer(commands::failure(
        404, "no command given: POST /cli?cmd=<command line>, or the command line as the body"));
    return;
  }
  run(*line, key, {access_.peer_level(request.peer), request.peer.to_string()},
      std::move(answer));
}

}  // namespace cservice::controlplane
