// Remote mode: `cservice "restart all" --access-key K [--host H --port P] [--json]` sends one
// command line to the running service (ours, or an original Node.js master) and prints the
// answer: readable by default; with --json, one line of JSON on stdout whatever the outcome (the
// result, or {"status": N, "error": "TEXT"}; 503 when no service answered). Exit status 0 when
// the command succeeded, 1 when it was refused, failed or got no answer.
//
// Where the service is: --url http(s)://HOST:PORT, else --host and --port (or their defaults).
// It speaks HTTPS when the URL says https, when --ca names the CA to trust, or when the options
// configure `ssl` (the service's own certificate is then trusted, unless --ca says otherwise).

#include "app/console.hpp"
#include "app/modes.hpp"
#include "base/log.hpp"
#include "commands/answer.hpp"
#include "control/http_client.hpp"

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <ctime>

namespace cservice::app {
namespace {

struct Target {
  std::string host;
  std::uint16_t port = 0;
  bool https = false;
};

Result<Target> parse_url(const std::string& text) {
  const auto bad = [&text](std::string_view why) {
    return make_error(errc::bad_config,
                      fmt::format("bad --url '{}': {} (expected http(s)://HOST:PORT)", text, why));
  };
  auto url = boost::urls::parse_absolute_uri(text);
  if (!url) return bad("not a URL");
  Target target;
  if (url->scheme() == "https") {
    target.https = true;
  } else if (url->scheme() != "http") {
    return bad("the scheme must be http or https");
  }
  target.host = std::string(url->host_address());
  if (target.host.empty()) return bad("no host");
  if (!url->has_port()) return bad("no port");
  target.port = url->port_number();
  if (target.port == 0) return bad("no port");
  return target;
}

// The service a command line names: where it is, the key to present, and how to speak to it.
struct Service {
  Target target;
  std::string key;
  std::optional<controlplane::ClientTls> tls;
};

}  // namespace

std::optional<controlplane::ClientTls> client_tls(const config::ControlSettings& control,
                                                  const std::string& ca_file, bool https) {
  if (!https && ca_file.empty() && !control.ssl) return std::nullopt;
  if (!ca_file.empty()) return controlplane::ClientTls{ca_file};
  if (control.ssl) return controlplane::ClientTls{control.ssl->cert};
  return controlplane::ClientTls{};  // the system's store
}

namespace {

Result<Service> service_of(const config::CommandLine& command_line) {
  auto settings = config::control_from_json(command_line.options);
  if (!settings) return settings.error();
  Service service{{settings->host, settings->port, false}, {}, std::nullopt};
  if (!command_line.url.empty()) {
    auto parsed = parse_url(command_line.url);
    if (!parsed) return parsed.error();
    service.target = *parsed;
  }
  if (!settings->keys.empty()) service.key = settings->keys.front().secret;
  service.tls = client_tls(*settings, command_line.ca_file, service.target.https);
  return service;
}

}  // namespace

int console_for(const config::CommandLine& command_line) {
  auto service = service_of(command_line);
  if (!service) {
    log::error("{}", service.error().message);
    return kExitUsage;
  }
  const Target& target = service->target;
  auto probe = controlplane::send_command(target.host, target.port, service->key, "version",
                                          std::chrono::seconds(2), service->tls);
  if (probe && probe->status == 401) {
    log::error("the service on {}:{} refused the access key (401): no console for it", target.host,
               target.port);
    return kExitUsage;
  }
  if (!probe || probe->status != 200) {
    log::error("no program given, and no service to be a console for on {}:{} ({}): cservice "
               "[options] <program|service.json> [-- args...]",
               target.host, target.port,
               probe ? fmt::format("it answered {}", probe->status) : probe.error().message);
    return kExitUsage;
  }
  return attached_console(target.host, target.port, service->key, service->tls);
}

namespace {

// Three heartbeats missed: the service or the path to it is gone.
constexpr auto kEventIdleTimeout = std::chrono::seconds(45);

// "12:00:01.123", local time, from the event's RFC 3339 UTC time (as it is if unreadable).
std::string clock_time(const std::string& rfc3339) {
  std::tm utc{};
  int ms = 0;
  if (std::sscanf(rfc3339.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &utc.tm_year, &utc.tm_mon,
                  &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &ms) != 7) {
    return rfc3339;
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  const std::time_t t = ::timegm(&utc);
  std::tm local{};
  ::localtime_r(&t, &local);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", local.tm_hour, local.tm_min, local.tm_sec, ms);
}

// One line for people: "12:00:01.123 workerExit worker 2 pid 1234 failure exit 1". The data's
// fields, each as "name value" (worker and pid first), but reason and status as their value
// alone.
std::string readable_event(const controlplane::StreamEvent& event) {
  const auto parsed = nlohmann::json::parse(event.data, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return event.name + " " + event.data;
  const auto text = [](const nlohmann::json& value) {
    return value.is_string() ? value.get<std::string>()
                             : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  std::string line = clock_time(parsed.value("time", "")) + " " + parsed.value("name", event.name);
  const auto data = parsed.find("data");
  if (data == parsed.end() || data->is_null()) return line;
  if (!data->is_object()) return fmt::format("{} {}", line, text(*data));
  // Which worker first, then the rest (in name order, as the JSON object keeps them).
  for (const char* first : {"worker", "pid"}) {
    if (const auto it = data->find(first); it != data->end()) {
      line += fmt::format(" {} {}", first, text(*it));
    }
  }
  for (const auto& [name, value] : data->items()) {
    if (name == "worker" || name == "pid" || value.is_null()) continue;
    if (name == "reason" || name == "status") {
      line += fmt::format(" {}", text(value));
    } else {
      line += fmt::format(" {} {}", name, text(value));
    }
  }
  return line;
}

// `cservice events`: follows the service's events until it ends the stream.
int follow(const config::CommandLine& command_line) {
  auto service = service_of(command_line);
  if (!service) {
    log::error("{}", service.error().message);
    return kExitUsage;
  }
  const bool json = command_line.json;
  const auto print = [json](const controlplane::StreamEvent& event) {
    const std::string line = json ? event.data : readable_event(event);
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);  // a line as it comes, also into a pipe
  };
  const auto& target = service->target;
  auto followed = controlplane::follow_events(target.host, target.port, service->key, std::nullopt,
                                              print, kEventIdleTimeout, service->tls);
  if (!followed) {
    log::error("events: {}", followed.error().message);
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

int remote(const config::CommandLine& command_line) {
  if (command_line.target == "events") return follow(command_line);
  const AnswerFormat format = command_line.json ? AnswerFormat::Json : AnswerFormat::Readable;
  // Bad usage (exit status 2): with --json a script gets its JSON answer too.
  const auto usage_error = [format](const std::string& message) {
    if (format == AnswerFormat::Json) {
      print_answer(commands::failure(400, message), format);
    } else {
      log::error("{}", message);
    }
    return kExitUsage;
  };
  auto service = service_of(command_line);
  if (!service) return usage_error(service.error().message);
  auto answer = controlplane::send_command(service->target.host, service->target.port,
                                           service->key, command_line.target,
                                           std::chrono::minutes(10), service->tls);
  if (!answer) {
    // No answer at all: with --json a script still gets one, in the same shape as a refusal.
    print_answer(commands::failure(kNoAnswerStatus, answer.error().message), format);
    return kExitFailure;
  }
  return print_answer(answer_from_http(answer->status, answer->body), format, command_line.target)
             ? kExitOk
             : kExitFailure;
}

}  // namespace cservice::app
