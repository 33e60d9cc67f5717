#include "config/option_table.hpp"

#include "base/text.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

#include "os/real_path.hpp"
#include "os/signals.hpp"
#include "os/spawn.hpp"

namespace cservice::config {
namespace {

using nlohmann::json;

constexpr std::int64_t kMaxWorkers = 1024;
constexpr std::int64_t kMaxMs = 24LL * 3600 * 1000;

// A flag's value may hold any bytes: one that is not UTF-8 is shown with U+FFFD in its place,
// where a plain dump() would throw.
std::string shown(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A string, or an array of strings, as an array (null if it is neither).
json string_list(const json& value) {
  if (value.is_string()) return json::array({value});
  if (!value.is_array()) return nullptr;
  for (const auto& item : value) {
    if (!item.is_string()) return nullptr;
  }
  return value;
}

Result<void> existing_dir(const std::string& dir, std::string_view what) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return os_error(fmt::format("{} {}", what, dir), errno);
  if (!S_ISDIR(st.st_mode)) {
    return make_error(errc::bad_config, fmt::format("{} {}: not a directory", what, dir));
  }
  return {};
}

// Milliseconds options: a whole number of ms, stored as a std::chrono duration.
#define CSERVICE_MS_ROW(SECTION, KEY, FLAG, MEMBER, LOW, DEFAULT, HELP)                \
  OptionRow {                                                                          \
    .section = OptionSection::SECTION, .key = KEY, .flags = {{{FLAG}, {}, "MS"}},      \
    .type = OptionType::Integer, .low = LOW, .high = kMaxMs, .default_value = DEFAULT, \
    .help = HELP,                                                                      \
    .apply = [](const json& v, ApplyContext& c) -> Result<void> {                      \
      c.options.MEMBER = Milliseconds(v.get<std::int64_t>());                          \
      return {};                                                                       \
    },                                                                                 \
    .show = [](const Options& o) -> json { return o.MEMBER.count(); },                 \
  }

#define CSERVICE_BOOL_ROW(SECTION, KEY, ALIASES, FLAGS, MEMBER, DEFAULT, HELP)                     \
  OptionRow {                                                                                      \
    .section = OptionSection::SECTION, .key = KEY, .aliases = ALIASES, .flags = {{FLAGS, {}, {}}}, \
    .type = OptionType::Bool, .default_value = DEFAULT, .help = HELP,                              \
    .apply = [](const json& v, ApplyContext& c) -> Result<void> {                                  \
      c.options.MEMBER = v.get<bool>();                                                            \
      return {};                                                                                   \
    },                                                                                             \
    .show = [](const Options& o) -> json { return o.MEMBER; },                                     \
  }

#define CSERVICE_PATH_ROW(KEY, FLAG, MEMBER, DEFAULT, HELP)                          \
  OptionRow {                                                                        \
    .section = OptionSection::Daemon, .key = KEY, .flags = {{{FLAG}, {}, "PATH"}},   \
    .type = OptionType::Text, .default_value = DEFAULT, .help = HELP,                \
    .apply = [](const json& v, ApplyContext& c) -> Result<void> {                    \
      c.options.MEMBER = absolute_path(join_path(c.base_dir, v.get<std::string>())); \
      return {};                                                                     \
    },                                                                               \
    .show = [](const Options& o) -> json { return o.MEMBER; },                       \
  }

using Names = std::vector<std::string_view>;

Result<controlplane::AccessKey> access_key(const json& item, const ApplyContext& c) {
  const auto refused = [&](std::string_view got) {
    // Never echo what might be a key: say only what kind of value it was.
    return make_error(errc::bad_config,
                      fmt::format("bad option {} (--access-key): expected each key to be a "
                                  "non-empty string or {{\"key\": \"...\", \"commands\": [...]}}, "
                                  "got {}",
                                  c.key, got));
  };
  if (item.is_string()) {
    if (item.get<std::string>().empty()) return refused("an empty string");
    return controlplane::AccessKey{item.get<std::string>(), std::nullopt};
  }
  if (!item.is_object()) return refused(fmt::format("a value of type {}", item.type_name()));
  if (!item.contains("key") || !item["key"].is_string() || item["key"].get<std::string>().empty()) {
    return refused("an object without a non-empty \"key\" string");
  }
  controlplane::AccessKey key{item["key"].get<std::string>(), std::nullopt};
  for (const auto& [name, value] : item.items()) {
    if (name != "key" && name != "commands") return refused(fmt::format("the field '{}'", name));
  }
  if (item.contains("commands")) {
    const json& commands = item["commands"];
    if (!commands.is_array() || std::any_of(commands.begin(), commands.end(),
                                            [](const json& name) { return !name.is_string(); })) {
      return refused(
          fmt::format("\"commands\": {}, not an array of command names", shown(commands)));
    }
    key.commands.emplace();
    for (const auto& name : commands) key.commands->insert(name.get<std::string>());
  }
  return key;
}

std::vector<OptionRow> make_table() {
  std::vector<OptionRow> rows = {
      // Workers.
      {.key = "program",
       .aliases = {"workers"},
       .flags = {{{}, {}, "PROGRAM"}},
       .type = OptionType::Program,
       .help = "the worker program: a path (relative to `cwd` if given, as the workers see "
               "it), or a name looked up in PATH (`workers` is the original's name)",
       .show = [](const Options& o) -> json { return o.program; }},
      {.key = "args",
       .flags = {{{}, {}, "ARGS..."}},
       .type = OptionType::Arguments,
       .help = "the program's arguments",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         if (!v.is_array() ||
             std::any_of(v.begin(), v.end(), [](const json& a) { return !a.is_string(); })) {
           return c.bad("an array of strings", v);
         }
         for (const auto& a : v) c.options.args.push_back(a.get<std::string>());
         return {};
       },
       .show = [](const Options& o) -> json { return o.args; }},
      {.key = "workerCount",
       .flags = {{{"-n", "--worker-count", "--workers"}, {}, "N"}},
       .type = OptionType::Integer,
       .low = 1,
       .high = kMaxWorkers,
       .default_text = "processors",
       .help = "number of workers",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         c.options.policy.worker_count = v.get<std::uint32_t>();
         return {};
       },
       .show = [](const Options& o) -> json { return o.policy.worker_count; }},
      {.key = "minReady",
       .flags = {{{"--min-ready"}, {}, "N"}},
       .type = OptionType::Integer,
       .low = 0,
       .high = kMaxWorkers,
       .default_text = "every worker",
       .help = "ready workers `GET /readyz` needs to answer 200 (else 503); a worker a rollout "
               "replaces counts while its old or its new process is ready",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         c.options.min_ready = v.get<std::uint32_t>();
         return {};
       },
       .show = [](const Options& o) -> json {
         return o.min_ready ? json(*o.min_ready) : json(nullptr);
       }},
      CSERVICE_BOOL_ROW(Workers, "restartOnFailure", Names{"restartonFailure"},
                        Names{"--restart-on-failure"}, policy.restart_on_failure, true,
                        "replace a worker that exits unexpectedly (`restartonFailure` is the "
                        "original's spelling)"),
      CSERVICE_MS_ROW(Workers, "restartDelayMs", "--restart-delay-ms", policy.restart_delay, 0, 100,
                      "wait before replacing it"),
      {.key = "restartsPerMinute",
       .flags = {{{"--restarts-per-minute"}, {}, "N"}},
       .type = OptionType::Integer,
       .low = 0,
       .high = 100000,
       .default_value = 10,
       .help = "restarts of one worker allowed in a sliding minute; past that it is a crash loop "
               "and is not restarted",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         c.options.policy.restarts_per_minute = v.get<std::uint32_t>();
         return {};
       },
       .show = [](const Options& o) -> json { return o.policy.restarts_per_minute; }},
      {.key = "restartConcurrencyRatio",
       .flags = {{{"--restart-concurrency-ratio"}, {}, "RATIO"}},
       .type = OptionType::Ratio,
       .default_value = 0.33,
       .help = "rolling restarts replace 1 + floor(n × ratio) workers at a time",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         c.options.policy.restart_concurrency_ratio = v.get<double>();
         return {};
       },
       .show = [](const Options& o) -> json { return o.policy.restart_concurrency_ratio; }},
      {.key = "listen",
       .flags = {{{"-l", "--listen"}, {}, "ADDRESS"}},
       .type = OptionType::List,
       .default_text = "none",
       .help = "sockets the master binds and passes to every worker: `PORT`, `HOST:PORT`, "
               "`[V6]:PORT`, `unix:PATH`, each optionally `NAME=...`",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         const json list = string_list(v);
         if (list.is_null() || list.empty()) return c.bad("an address or an array of addresses", v);
         if (list.size() > os::kMaxPassedFds) {
           return c.bad(fmt::format("at most {} addresses", os::kMaxPassedFds), list.size());
         }
         auto& listen = c.options.listen;
         for (const auto& item : list) {
           auto endpoint = os::parse_endpoint(item.get<std::string>());
           if (!endpoint) return endpoint.error();
           if (endpoint->kind == os::Endpoint::Kind::Unix) {
             endpoint->path = join_path(c.base_dir, endpoint->path);
           }
           for (const auto& earlier : listen) {
             if (earlier.name == endpoint->name && earlier.name != "listen") {
               return c.bad(fmt::format("each name once, but '{}' is used twice", earlier.name),
                            list);
             }
           }
           listen.push_back(std::move(*endpoint));
         }
         return {};
       },
       .show = [](const Options& o) -> json {
         json list = json::array();
         for (const auto& e : o.listen) {
           list.push_back(e.kind == os::Endpoint::Kind::Unix
                              ? fmt::format("{}=unix:{}", e.name, e.path)
                              : fmt::format("{}={}:{}", e.name, e.host, e.port));
         }
         return list;
       }},
      {.key = "ready",
       .flags = {{{"--ready"}, {}, "MODE"}},
       .type = OptionType::Choice,
       .choices = {"auto", "notify", "started"},
       .default_value = "auto",
       .help = "when a worker counts as ready: `auto`, `notify`, `started` (see below)",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         const std::string mode = v.get<std::string>();
         c.options.policy.ready_mode = mode == "notify"    ? supervisor::ReadyMode::Notify
                                       : mode == "started" ? supervisor::ReadyMode::Started
                                                           : supervisor::ReadyMode::Auto;
         return {};
       },
       .show = [](const Options& o) -> json {
         switch (o.policy.ready_mode) {
           case supervisor::ReadyMode::Notify:
             return "notify";
           case supervisor::ReadyMode::Started:
             return "started";
           case supervisor::ReadyMode::Auto:
             break;
         }
         return "auto";
       }},
      CSERVICE_MS_ROW(Workers, "readyTimeoutMs", "--ready-timeout-ms", policy.ready_timeout, 1,
                      30000, "a worker not ready by then is stopped and counted as a failure"),
      CSERVICE_MS_ROW(Workers, "readyGraceMs", "--ready-grace-ms", policy.ready_grace, 0, 500,
                      "`auto`: a worker that says nothing is ready after living this long"),
      {.key = "stopSignal",
       .flags = {{{"--stop-signal"}, {}, "SIGNAL"}},
       .type = OptionType::Json,
       .default_value = "SIGTERM",
       .help = "what asks a worker to stop: a signal name or number",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         Result<int> signal = make_error(errc::bad_config, "");
         if (v.is_string()) signal = os::parse_signal(v.get<std::string>());
         if (v.is_number_integer()) signal = os::parse_signal(std::to_string(v.get<int>()));
         if (!signal) return c.bad("a signal name or number, as SIGTERM", v);
         c.options.stop_signal = *signal;
         return {};
       },
       .show = [](const Options& o) -> json { return os::signal_name(o.stop_signal); }},
      CSERVICE_MS_ROW(Workers, "stopTimeoutMs", "--stop-timeout-ms", policy.stop_timeout, 0, 10000,
                      "then SIGKILL"),
      {.key = "cwd",
       .flags = {{{"--cwd"}, {}, "DIR"}},
       .type = OptionType::Text,
       .default_text = "the master's",
       .help = "workers' working directory",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         // Resolved, links and all, as the program is: the workers keep this release's
         // directory when a deploy re-points a link in it.
         const std::string named = absolute_path(join_path(c.base_dir, v.get<std::string>()));
         auto resolved = os::real_path("cwd", named);
         if (!resolved) return resolved.error();
         c.options.cwd = std::move(*resolved);
         c.options.cwd_as_named = named == c.options.cwd ? std::string() : named;
         return existing_dir(c.options.cwd,
                             named == c.options.cwd ? "cwd" : fmt::format("cwd {} is", named));
       },
       .show = [](const Options& o) -> json { return o.cwd; }},
      {.key = "env",
       .flags = {{{"-e", "--env"}, {}, "NAME=VALUE"}},
       .type = OptionType::Map,
       .help = "extra environment for the workers",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         if (!v.is_object()) return c.bad("an object of NAME: \"value\"", v);
         for (const auto& [name, value] : v.items()) {
           if (name.empty() || name.find('=') != std::string::npos || !value.is_string()) {
             return c.bad(fmt::format("entry '{}' to be NAME: \"value\"", name), value);
           }
           c.options.env[name] = value.get<std::string>();
         }
         return {};
       },
       .show = [](const Options& o) -> json { return o.env; }},
      // Output.
      CSERVICE_BOOL_ROW(Output, "silent", Names{}, Names{"--silent"}, silent, false,
                        "do not relay the workers' output"),
      CSERVICE_BOOL_ROW(Output, "rawOutput", Names{}, Names{"--raw-output"}, raw_output, false,
                        "relay a worker's bytes as written, terminal escapes included: only for "
                        "workers you trust with your terminal (otherwise control characters and "
                        "bytes that are not UTF-8 are escaped)"),
      {.section = OptionSection::Output,
       .key = "logFormat",
       .flags = {{{"--log-format"}, {}, "FORMAT"}},
       .type = OptionType::Choice,
       .choices = {"text", "json"},
       .default_value = "text",
       .help = "the service's log lines, its own and its workers': `text` (an RFC 3339 time in "
               "UTC and a level first) or `json` (one object a line); under systemd's journal, "
               "priority prefixes instead of times",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         c.options.log_format = v.get<std::string>() == "json" ? log::Format::Json
                                                               : log::Format::Text;
         return {};
       },
       .show = [](const Options& o) -> json {
         return o.log_format == log::Format::Json ? "json" : "text";
       }},
      CSERVICE_BOOL_ROW(Output, "cli", Names{"cliEnabled"}, Names{"--cli"}, console, true,
                        "read commands typed on the terminal (`cliEnabled` is the original's "
                        "name)"),
      // The control plane.
      {.section = OptionSection::Control,
       .key = "accessKey",
       .flags = {{{"-k", "--access-key"}, {}, "KEY"}},
       .type = OptionType::Json,
       .default_text = "none",
       .help = "starts the REST API; a string, or in JSON an array of keys, each a string or "
               "`{\"key\": ..., \"commands\": [...]}` (a key limited to those commands)",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         const json keys = v.is_array() ? v : json::array({v});
         for (const auto& item : keys) {
           auto key = access_key(item, c);
           if (!key) return key.error();
           c.options.control.keys.push_back(std::move(*key));
         }
         return {};
       },
       .show = [](const Options& o) -> json {
         json keys = json::array();
         for (const auto& k : o.control.keys) {
           keys.push_back(k.commands ? json{{"key", k.secret}, {"commands", *k.commands}}
                                     : json(k.secret));
         }
         return keys;
       }},
      {.section = OptionSection::Control,
       .key = "host",
       .flags = {{{"--host"}, {}, "HOST"}},
       .type = OptionType::Text,
       .default_value = "localhost",
       .help = "address of the REST API",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         c.options.control.host = v.get<std::string>();
         return {};
       },
       .show = [](const Options& o) -> json { return o.control.host; }},
      {.section = OptionSection::Control,
       .key = "port",
       .flags = {{{"-p", "--port"}, {}, "PORT"}},
       .type = OptionType::Integer,
       .low = 0,
       .high = 65535,
       .default_value = 11987,
       .help = "port of the REST API",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         c.options.control.port = v.get<std::uint16_t>();
         return {};
       },
       .show = [](const Options& o) -> json { return o.control.port; }},
      CSERVICE_BOOL_ROW(Control, "allowHttpGet", Names{}, Names{"--allow-http-get"},
                        control.allow_http_get, false, "accept GET as well as POST"),
      CSERVICE_BOOL_ROW(Control, "metricsPublic", Names{}, Names{"--metrics-public"},
                        control.metrics_public, false,
                        "serve `GET /metrics` without a key (`/healthz` and `/readyz` never need "
                        "one)"),
      {.section = OptionSection::Control,
       .key = "ssl",
       .flags = {{{"--ssl-key"}, "key", "FILE"}, {{"--ssl-cert"}, "cert", "FILE"}},
       .type = OptionType::Json,
       .default_text = "none",
       .help = "the REST API speaks HTTPS only, with this private key and certificate (chain), "
               "PEM files; in JSON `{\"key\": ..., \"cert\": ...}`",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         const auto is_path = [&](const char* field) {
           return v.contains(field) && v[field].is_string() && !v[field].get<std::string>().empty();
         };
         if (!v.is_object() || !is_path("key") || !is_path("cert") || v.size() != 2) {
           return c.bad("{\"key\": \"KEY.pem\", \"cert\": \"CERT.pem\"}", v);
         }
         c.options.control.ssl =
             SslFiles{absolute_path(join_path(c.base_dir, v["key"].get<std::string>())),
                      absolute_path(join_path(c.base_dir, v["cert"].get<std::string>()))};
         return {};
       },
       .show = [](const Options& o) -> json {
         if (!o.control.ssl) return nullptr;
         return {{"key", o.control.ssl->key}, {"cert", o.control.ssl->cert}};
       }},
      {.section = OptionSection::Control,
       .key = "control",
       .type = OptionType::Json,
       .help = "access level per command, e.g. `{\"exit\": \"inproc\", \"upgrade\": \"local\"}`",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         if (!v.is_object()) return c.bad("an object of command: level", v);
         for (const auto& [command, level] : v.items()) {
           const auto parsed = level.is_string()
                                   ? commands::parse_trust_level(level.get<std::string>())
                                   : std::nullopt;
           if (!parsed) {
             return c.bad(
                 fmt::format("the level of '{}' to be remote, local, inproc or disabled", command),
                 level);
           }
           c.options.control.levels[command] = *parsed;
         }
         return {};
       },
       .show = [](const Options& o) -> json {
         json levels = json::object();
         for (const auto& [command, level] : o.control.levels) levels[command] = to_string(level);
         return levels;
       }},
      {.section = OptionSection::Control,
       .key = "localNetworks",
       .flags = {{{"--local-network"}, {}, "CIDR"}},
       .type = OptionType::List,
       .default_text = "loopback",
       .help = "networks whose peers count as `local`; `none` / `[]`: every peer is `remote`",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         const json list = string_list(v);
         if (list.is_null()) return c.bad("an array of networks", v);
         c.options.control.local_networks.clear();
         for (const auto& item : list) {
           if (item == "none") continue;
           auto network = controlplane::Network::parse(item.get<std::string>());
           if (!network) return c.bad("an address or ADDRESS/PREFIX", item);
           c.options.control.local_networks.push_back(*network);
         }
         return {};
       },
       .show = [](const Options& o) -> json {
         json list = json::array();
         for (const auto& n : o.control.local_networks) list.push_back(n.to_string());
         return list;
       }},
      {.section = OptionSection::Control,
       .key = "commands",
       .flags = {{{"--commands"}, {}, "DIR"}},
       .type = OptionType::List,
       .default_text = "none",
       .help = "directories whose executables are commands (see below)",
       .apply = [](const json& v, ApplyContext& c) -> Result<void> {
         const json list = string_list(v);
         if (list.is_null()) return c.bad("a directory or an array of directories", v);
         for (const auto& item : list) {
           const std::string dir = absolute_path(join_path(c.base_dir, item.get<std::string>()));
           if (auto ok = existing_dir(dir, "commands"); !ok) return ok.error();
           c.options.command_dirs.push_back(dir);
         }
         return {};
       },
       .show = [](const Options& o) -> json { return o.command_dirs; }},
      CSERVICE_MS_ROW(Control, "commandTimeoutMs", "--command-timeout-ms", command_timeout, 1,
                      30000,
                      "time a custom command gets to answer; then 504 (a directory command is "
                      "killed)"),
      // Daemon.
      CSERVICE_BOOL_ROW(Daemon, "daemon", Names{}, (Names{"-d", "--daemon"}), daemon, false,
                        "run in the background (as `cserviced`)"),
      CSERVICE_PATH_ROW("pidFile", "--pid-file", pid_file, "cservice.pid",
                        "where a daemon writes its pid"),
      CSERVICE_PATH_ROW("logFile", "--log-file", log_file, "cservice.log",
                        "where a daemon writes all output"),
      // The command line alone.
      {.kind = OptionKind::Cli,
       .section = OptionSection::General,
       .key = "config",
       .flags = {{{"--config"}, {}, "FILE"}},
       .type = OptionType::Text,
       .help = "a service file, as if given as the first argument; a program given too "
               "replaces the file's"},
      {.kind = OptionKind::Cli,
       .section = OptionSection::General,
       .key = "help",
       .flags = {{{"-h", "--help"}, {}, {}}},
       .type = OptionType::Bool,
       .help = "print this help and exit"},
      {.kind = OptionKind::Cli,
       .section = OptionSection::General,
       .key = "version",
       .flags = {{{"-V", "--version"}, {}, {}}},
       .type = OptionType::Bool,
       .help = "print the version and exit"},
      {.kind = OptionKind::Cli,
       .section = OptionSection::General,
       .key = "color",
       .flags = {{{"--color"}, {}, "WHEN"}},
       .type = OptionType::Choice,
       .choices = {"auto", "always", "never"},
       .default_value = "auto",
       .help = "colours in the tables of workers, info and health on a terminal: auto (unless "
               "NO_COLOR is set or TERM is dumb), always or never"},
      {.kind = OptionKind::Cli,
       .section = OptionSection::Remote,
       .key = "run",
       .flags = {{{"--run"}, {}, "LINE"}},
       .type = OptionType::Text,
       .help = "send this command line to the running service"},
      {.kind = OptionKind::Cli,
       .section = OptionSection::Remote,
       .key = "json",
       .flags = {{{"--json"}, {}, {}}},
       .type = OptionType::Bool,
       .help = "print the raw JSON answer"},
      {.kind = OptionKind::Cli,
       .section = OptionSection::Remote,
       .key = "url",
       .flags = {{{"--url"}, {}, "URL"}},
       .type = OptionType::Text,
       .help = "the service, http(s)://HOST:PORT (instead of --host, --port)"},
      {.kind = OptionKind::Cli,
       .section = OptionSection::Remote,
       .key = "ca",
       .flags = {{{"--ca"}, {}, "FILE"}},
       .type = OptionType::Text,
       .help = "HTTPS, trusting this CA (PEM) rather than the system's store"},
  };
  return rows;
}

#undef CSERVICE_MS_ROW
#undef CSERVICE_BOOL_ROW
#undef CSERVICE_PATH_ROW

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

Error ApplyContext::bad(std::string_view expected, const json& value) const {
  std::string flags;
  for (const auto& form : row.flags) {
    for (const auto name : form.names) {
      if (!name.starts_with("--")) continue;
      flags += flags.empty() ? " (" : ", ";
      flags += name;
      break;
    }
  }
  if (!flags.empty()) flags += ")";
  return make_error(errc::bad_config, fmt::format("bad option {}{}: expected {}, got {}", key,
                                                  flags, expected, shown(value)));
}

std::string_view OptionRow::main_flag() const {
  for (const auto& form : flags) {
    for (const auto name : form.names) {
      if (name.starts_with("--")) return name;
    }
  }
  return {};
}

std::vector<std::string> OptionRow::flag_names() const {
  std::vector<std::string> names;
  const auto add = [&](std::string name) {
    if (std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(std::move(name));
  };
  for (const auto& form : flags) {
    for (const auto name : form.names) add(std::string(name));
  }
  // The JSON names work as flags too, where a flag sets the whole value.
  if (kind == OptionKind::Service && flags.size() == 1 && !flags[0].names.empty() &&
      flags[0].field.empty()) {
    add(flag_of_key(key));
    for (const auto alias : aliases) add(flag_of_key(alias));
  }
  return names;
}

const std::vector<OptionRow>& option_table() {
  static const std::vector<OptionRow> rows = make_table();
  return rows;
}

const OptionRow* find_option(std::string_view key) {
  for (const auto& row : option_table()) {
    if (row.kind != OptionKind::Service) continue;
    if (row.key == key ||
        std::find(row.aliases.begin(), row.aliases.end(), key) != row.aliases.end()) {
      return &row;
    }
  }
  return nullptr;
}

std::string flag_of_key(std::string_view key) { return fmt::format("--{}", key); }

std::string nearest_name(std::string_view name, const std::vector<std::string>& known) {
  // A third of the name: "workerCont" finds "workerCount", but "ssh" is too short to be a typo
  // of "cwd" (3 edits away, the whole name).
  const std::size_t limit = std::max<std::size_t>(1, name.size() / 3);
  const std::string* best = nullptr;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : known) {
    const std::size_t d = edit_distance(name, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = &candidate;
    }
  }
  return best == nullptr ? std::string() : *best;
}

std::string join_path(const std::string& base, const std::string& path) {
  if (path.starts_with('/') || base.empty()) return path;
  return base + "/" + path;
}

std::string absolute_path(const std::string& path) {
  if (path.starts_with('/')) return without_dot_components(path);
  char buffer[4096];
  if (::getcwd(buffer, sizeof buffer) == nullptr) return without_dot_components(path);
  return without_dot_components(std::string(buffer) + "/" + path);
}

}  // namespace cservice::config
