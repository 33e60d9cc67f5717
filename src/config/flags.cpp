#include "config/flags.hpp"

#include "base/json.hpp"
#include "config/options.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace cservice::config {
namespace {

using nlohmann::json;

// A flag's text as JSON: numbers and booleans become typed, anything else stays a string. The
// validator then says what it expected ("must be a whole number ..., got \"abc\"").
json typed(const std::string& text) {
  json value = parse_json(text);
  if (value.is_discarded() || value.is_object() || value.is_array() || value.is_string()) {
    return text;
  }
  return value;
}

constexpr const char* kFooter = R"(Exit status: 0 after a clean stop, 1 on a runtime failure,
2 on bad usage or configuration (nothing is started then).

A service.json holds the same options by their JSON names, e.g.
  {"program": "./server", "workerCount": 4, "listen": ["http=127.0.0.1:8080"]}
Flags given with a service.json override its keys.)";

}  // namespace

Result<CommandLine> parse_command_line(int argc, const char* const* argv) {
  CLI::App app("cservice runs N copies (workers) of a program, restarts the ones that fail, "
               "and stops them gracefully.",
               "cservice");
  app.footer(kFooter);
  app.set_help_flag();  // handled below, so parsing stays exception-free for the caller

  CommandLine out;
  bool help = false;
  bool version = false;
  app.add_flag("-h,--help", help, "print this help and exit");
  app.add_flag("-V,--version", version, "print the version and exit");
  app.add_option("target", out.target, "the worker program, or a service.json file; its arguments follow --")
      ->type_name("PROGRAM");
  // Everything after the first "--" belongs to the program, untouched by flag parsing.
  int own_argc = argc;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      own_argc = i;
      args.assign(argv + i + 1, argv + argc);
      break;
    }
  }

  struct Flag {
    const char* names;
    const char* key;
    const char* type;
    const char* help;
    std::optional<std::string> value;
  };
  std::vector<Flag> flags = {
      {"-n,--worker-count,--workerCount,--workers", "workerCount", "N", "number of workers (default: processors)", {}},
      {"--restart-on-failure,--restartOnFailure", "restartOnFailure", "BOOL", "true|false (default true)", {}},
      {"--restart-delay-ms,--restartDelayMs", "restartDelayMs", "MS", "delay before a restart (default 100)", {}},
      {"--restarts-per-minute,--restartsPerMinute", "restartsPerMinute", "N", "crash-loop cap per worker (default 10)", {}},
      {"--restart-concurrency-ratio,--restartConcurrencyRatio", "restartConcurrencyRatio", "RATIO", "rolling batches: 1 + floor(n * ratio) (default 0.33)", {}},
      {"--ready", "ready", "MODE", "auto|notify|started (default auto)", {}},
      {"--ready-timeout-ms,--readyTimeoutMs", "readyTimeoutMs", "MS", "time to become ready (default 30000)", {}},
      {"--ready-grace-ms,--readyGraceMs", "readyGraceMs", "MS", "auto: silent worker ready after (default 500)", {}},
      {"--stop-signal,--stopSignal", "stopSignal", "SIGNAL", "signal asking a worker to stop (default SIGTERM)", {}},
      {"--stop-timeout-ms,--stopTimeoutMs", "stopTimeoutMs", "MS", "time before SIGKILL (default 10000)", {}},
      {"--cwd", "cwd", "DIR", "working directory of the workers", {}},
      {"-k,--access-key,--accessKey", "accessKey", "KEY", "key of the REST API and CLI (starts the API)", {}},
      {"--host", "host", "HOST", "host of the REST API (default localhost)", {}},
      {"-p,--port", "port", "PORT", "port of the REST API (default 11987)", {}},
      {"--allow-http-get,--allowHttpGet", "allowHttpGet", "BOOL", "accept GET on the REST API (default false)", {}},
      {"--cli", "cli", "BOOL", "read commands typed on the terminal (default true)", {}},
      {"--command-timeout-ms,--commandTimeoutMs", "commandTimeoutMs", "MS", "time a custom command gets to answer (default 30000)", {}},
      {"--pid-file,--pidFile", "pidFile", "PATH", "daemon: pid file (default cservice.pid)", {}},
      {"--log-file,--logFile", "logFile", "PATH", "daemon: log file (default cservice.log)", {}},
  };
  for (auto& flag : flags) app.add_option(flag.names, flag.value, flag.help)->type_name(flag.type);
  std::vector<std::string> listen;
  app.add_option("-l,--listen", listen,
                 "socket for the workers, repeatable: PORT, HOST:PORT, NAME=HOST:PORT, unix:PATH")
      ->allow_extra_args(false)
      ->type_name("ADDRESS");
  std::vector<std::string> env;
  app.add_option("-e,--env", env, "extra environment for the workers, repeatable: NAME=value")
      ->allow_extra_args(false)
      ->type_name("NAME=VALUE");
  std::vector<std::string> command_dirs;
  app.add_option("--commands", command_dirs,
                 "directory of command programs, repeatable: each executable is a command")
      ->allow_extra_args(false)
      ->type_name("DIR");
  bool silent = false;
  app.add_flag("--silent", silent, "do not relay the workers' output");
  bool raw_output = false;
  app.add_flag("--raw-output,--rawOutput", raw_output,
               "relay a worker's bytes as written, terminal escapes included: only for workers "
               "you trust with your terminal");
  bool daemon = false;
  app.add_flag("-d,--daemon", daemon, "run in the background (as cserviced)");
  std::vector<std::string> local_networks;
  app.add_option("--local-network", local_networks,
                 "repeatable: peers in this network count as local (replaces loopback; 'none': "
                 "no peer is local)")
      ->allow_extra_args(false)
      ->type_name("CIDR");
  std::string ssl_key;
  std::string ssl_cert;
  app.add_option("--ssl-key", ssl_key, "the REST API speaks HTTPS with this private key (PEM)")
      ->type_name("FILE");
  app.add_option("--ssl-cert", ssl_cert, "... and this certificate (PEM); both are needed")
      ->type_name("FILE");
  app.add_flag("--json", out.json, "remote mode: print the raw JSON answer");
  app.add_option("--url", out.url,
                 "remote mode: the service, http(s)://HOST:PORT (instead of --host, --port)")
      ->type_name("URL");
  app.add_option("--ca", out.ca_file,
                 "remote mode: HTTPS, trusting this CA (PEM) rather than the system's store")
      ->type_name("FILE");
  std::string run;
  app.add_option("--run", run, "send this command line to the running service")->type_name("LINE");

  out.help = app.help();
  try {
    app.parse(own_argc, argv);
  } catch (const CLI::ParseError& e) {
    return make_error(errc::bad_config, e.what());
  }
  if (help) {
    out.action = CommandLine::Action::Help;
    return out;
  }
  if (version) {
    out.action = CommandLine::Action::Version;
    return out;
  }
  if (!run.empty()) {
    if (!out.target.empty()) {
      return make_error(errc::bad_config, "--run takes the command line; give no program with it");
    }
    out.action = CommandLine::Action::Remote;
    out.target = run;
  }
  if (out.target.empty()) {
    return make_error(errc::bad_config,
                      "no program given: cservice [options] <program|service.json> [-- args...]");
  }

  out.options = json::object();
  // Keys whose values are text whatever they look like (an access key "1e5" stays "1e5").
  const std::set<std::string_view> text_keys = {"cwd",  "ready",   "stopSignal", "accessKey",
                                                "host", "pidFile", "logFile"};
  for (const auto& flag : flags) {
    if (!flag.value) continue;
    out.options[flag.key] = text_keys.contains(flag.key) ? json(*flag.value) : typed(*flag.value);
  }
  if (!listen.empty()) out.options["listen"] = listen;
  if (!env.empty()) {
    json object = json::object();
    for (const auto& entry : env) {
      const auto eq = entry.find('=');
      if (eq == std::string::npos || eq == 0) {
        return make_error(errc::bad_config,
                          fmt::format("bad option --env: expected NAME=value, got '{}'", entry));
      }
      object[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    out.options["env"] = object;
  }
  if (!command_dirs.empty()) out.options["commands"] = command_dirs;
  if (!ssl_key.empty()) out.options["ssl"]["key"] = ssl_key;
  if (!ssl_cert.empty()) out.options["ssl"]["cert"] = ssl_cert;
  if (silent) out.options["silent"] = true;
  if (raw_output) out.options["rawOutput"] = true;
  // Started as cserviced: serve in the background.
  const std::string_view name = argv[0];
  if (daemon || name == "cserviced" || name.ends_with("/cserviced")) out.options["daemon"] = true;
  if (!local_networks.empty()) {
    out.options["localNetworks"] = nlohmann::json::array();
    for (const auto& network : local_networks) {
      if (network != "none") out.options["localNetworks"].push_back(network);
    }
  }
  if (!args.empty()) out.options["args"] = args;
  return out;
}

Result<json> read_config_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) return os_error(fmt::format("config {}", path), errno);
  std::stringstream text;
  text << file.rdbuf();
  try {
    return json::parse(text.str());
  } catch (const json::parse_error& e) {
    return make_error(errc::bad_config, fmt::format("config {}: {}", path, e.what()));
  }
}

Result<Options> load(const CommandLine& command_line) {
  const std::string& target = command_line.target;
  struct stat st {};
  const bool is_file_config =
      target.ends_with(".json") && ::stat(target.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  if (!is_file_config) {
    json merged = command_line.options;
    merged["program"] = target;
    return from_json(merged, "");
  }
  auto file = read_config_file(target);
  if (!file) return file.error();
  if (!file->is_object()) {
    return make_error(errc::bad_config, fmt::format("config {}: expected a JSON object", target));
  }
  for (const auto& [key, value] : command_line.options.items()) {
    // --ssl-key or --ssl-cert alone replaces that file of the service.json's `ssl`.
    if (key == "ssl" && (*file)[key].is_object()) {
      for (const auto& [field, path] : value.items()) (*file)[key][field] = path;
    } else {
      (*file)[key] = value;
    }
  }
  const auto slash = target.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : target.substr(0, slash);
  auto options = from_json(*file, dir);
  if (!options) {
    return make_error(errc::bad_config, fmt::format("config {}: {}", target, options.error().message));
  }
  return options;
}

}  // namespace cservice::config
