#include "control/control_plane.hpp"

#include "base/log.hpp"
#include "control/command_line.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <fmt/format.h>

namespace cservice::controlplane {

namespace {

unsigned status_of(const Error& error) {
  if (error.code == make_error_code(errc::not_found)) return 404;
  if (error.code == make_error_code(errc::internal)) return 500;
  if (error.code == make_error_code(errc::timed_out)) return 504;
  return 400;
}

HttpResponse to_http(const Outcome& outcome) {
  // json_text, not dump(): a result may echo bytes that are not UTF-8, and an exception here
  // would escape to the loop when the answer comes later (a library-mode command's does).
  if (outcome.status == 200) {
    return {200, "application/json", commands::json_text(outcome.result) + "\n"};
  }
  return {outcome.status, "text/plain; charset=utf-8", outcome.error + "\n"};
}

Outcome refused(Decision decision, const std::string& name, TrustLevel required,
                TrustLevel caller) {
  return {401, {}, fmt::format("{}: '{}' requires {}, caller is {}", describe(decision), name,
                               to_string(required), to_string(caller))};
}

}  // namespace

std::string mask_key(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return "(unparsable target)";
  boost::urls::url url(*parsed);
  // Every accessKey, not just the first (the one on_http takes): a client may have put its
  // real key in another.
  auto params = url.params();
  for (auto it = params.find("accessKey"); it != params.end();
       it = params.find(std::next(it), "accessKey")) {
    it = params.set(it, "***");
  }
  return std::string(url.buffer());
}

ControlPlane::ControlPlane(commands::Registry& registry, commands::Context& context,
                           AccessPolicy access, bool allow_http_get)
    : registry_(registry),
      context_(context),
      access_(std::move(access)),
      allow_http_get_(allow_http_get) {}

void ControlPlane::run(std::string_view text, std::string_view key, TrustLevel caller,
                       std::function<void(Outcome)> done) {
  auto line = parse_command_line(text);
  if (!line) {
    // Before the key check only for the console, which holds no key; others learn nothing
    // about the service before their key is accepted.
    if (caller == TrustLevel::Inproc || access_.match_key(key)) {
      done({400, {}, line.error().message});
    } else {
      done({401, {}, describe(Decision::BadKey)});
    }
    return;
  }
  const commands::Command* command = registry_.find(line->name);
  const TrustLevel required = registry_.required_level(line->name);
  const Decision decision = access_.decide(key, caller, line->name, required);
  if (decision == Decision::BadKey) {
    done({401, {}, describe(decision)});
    return;
  }
  if (command == nullptr) {
    done({404, {}, fmt::format("unknown command '{}' (try help)", line->name)});
    return;
  }
  if (decision != Decision::Allowed) {
    done(refused(decision, line->name, required, caller));
    return;
  }
  dispatch(*command, line->args, std::move(done));
}

void ControlPlane::run_trusted(const std::string& name, std::vector<nlohmann::json> args,
                               TrustLevel caller, std::function<void(Outcome)> done) {
  const commands::Command* command = registry_.find(name);
  if (command == nullptr) {
    done({404, {}, fmt::format("unknown command '{}' (try help)", name)});
    return;
  }
  const TrustLevel required = registry_.required_level(name);
  if (const Decision decision = AccessPolicy::decide_level(caller, required);
      decision != Decision::Allowed) {
    done(refused(decision, name, required, caller));
    return;
  }
  dispatch(*command, args, std::move(done));
}

void ControlPlane::dispatch(const commands::Command& command,
                            const std::vector<nlohmann::json>& args,
                            std::function<void(Outcome)> done) {
  commands::Reply reply([done = std::move(done)](Result<nlohmann::json> result) {
    if (result) {
      done({200, std::move(*result), {}});
    } else {
      done({status_of(result.error()), {}, result.error().message});
    }
  });
  // No exception may cross the loop: a throwing command is a bug, logged; its Reply, destroyed
  // unanswered on the way out, answers "internal error".
  try {
    command.run(context_, registry_, args, std::move(reply));
  } catch (const std::exception& e) {
    log::error("bug: command '{}' threw: {}", command.name, e.what());
  }
}

void ControlPlane::on_http(HttpRequest request, HttpServer::Respond respond) {
  const std::string logged = fmt::format("control: {} {} {}", request.peer.to_string(),
                                         request.method, mask_key(request.target));
  auto answer = [respond = std::move(respond), logged](const Outcome& outcome) {
    log::info("{} -> {}", logged, outcome.status);
    respond(to_http(outcome));
  };
  auto parsed = boost::urls::parse_origin_form(request.target);
  if (!parsed) {
    answer({400, {}, "malformed request target"});
    return;
  }
  if (parsed->path() != "/cli") {
    answer({404, {}, fmt::format("unknown path '{}': use POST /cli?cmd=...", std::string(parsed->path()))});
    return;
  }
  if (request.method != "POST" && !(request.method == "GET" && allow_http_get_)) {
    answer({405, {}, request.method == "GET" ? "GET is not allowed (allowHttpGet is off): use POST"
                                             : "use POST"});
    return;
  }
  const auto params = parsed->params();
  std::string key;
  if (request.authorization.starts_with("Bearer ")) key = request.authorization.substr(7);
  if (auto it = params.find("accessKey"); it != params.end() && key.empty()) key = (*it).value;
  const auto cmd = params.find("cmd");
  if (cmd == params.end()) {
    answer({400, {}, "missing cmd: POST /cli?cmd=<command line>"});
    return;
  }
  run((*cmd).value, key, access_.peer_level(request.peer), std::move(answer));
}

}  // namespace cservice::controlplane
