#include "config/options.hpp"

#include "os/signals.hpp"
#include "os/spawn.hpp"

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cservice::config {
namespace {

using nlohmann::json;

constexpr std::int64_t kMaxWorkers = 1024;
constexpr std::int64_t kMaxMs = 24LL * 3600 * 1000;

// A flag's value may hold any bytes: one that is not UTF-8 is shown with U+FFFD in its place,
// where a plain dump() would throw.
Error bad(std::string_view key, std::string_view why, const json& value) {
  const std::string shown = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return make_error(errc::bad_config, fmt::format("bad option {}: {}, got {}", key, why, shown));
}

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

std::string suggestion(std::string_view key) {
  const KeyInfo* best = nullptr;
  std::size_t best_distance = 4;  // further than this is no suggestion, only noise
  for (const auto& info : known_keys()) {
    const std::size_t d = edit_distance(key, info.name);
    if (d < best_distance) {
      best_distance = d;
      best = &info;
    }
  }
  return best == nullptr ? std::string() : fmt::format(" (did you mean '{}'?)", best->name);
}

Result<std::int64_t> integer(const json& config, const char* key, std::int64_t low,
                             std::int64_t high) {
  const json& value = config.at(key);
  if (!value.is_number_integer() || value.get<std::int64_t>() < low ||
      value.get<std::int64_t>() > high) {
    return bad(key, fmt::format("must be a whole number from {} to {}", low, high), value);
  }
  return value.get<std::int64_t>();
}

Result<bool> boolean(const json& config, const char* key) {
  const json& value = config.at(key);
  if (!value.is_boolean()) return bad(key, "must be true or false", value);
  return value.get<bool>();
}

Result<std::string> string(const json& config, const char* key) {
  const json& value = config.at(key);
  if (!value.is_string() || value.get<std::string>().empty()) {
    return bad(key, "must be a non-empty string", value);
  }
  return value.get<std::string>();
}

std::string join_path(const std::string& base, const std::string& path) {
  if (path.starts_with('/') || base.empty()) return path;
  return base + "/" + path;
}

// An absolute form of `path` (symlinks kept: a "current" link may be switched by a deploy).
std::string absolute(const std::string& path) {
  if (path.starts_with('/')) return path;
  char buffer[4096];
  if (::getcwd(buffer, sizeof buffer) == nullptr) return path;
  std::string_view rest = path;
  while (rest.starts_with("./")) rest.remove_prefix(2);
  return std::string(buffer) + "/" + std::string(rest);
}

// Finds the program the way a shell would, and checks it can be executed: a name with a '/' is
// a path; a bare name is a file in `base_dir`, else looked up in PATH.
Result<std::string> resolve_program(const std::string& program, const std::string& base_dir) {
  auto check = [](const std::string& path) -> Result<std::string> {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return os_error(fmt::format("program {}", path), errno);
    if (!S_ISREG(st.st_mode)) {
      return make_error(errc::bad_config, fmt::format("program {}: not a regular file", path));
    }
    if (::access(path.c_str(), X_OK) != 0) {
      return os_error(fmt::format("program {}: not executable", path), errno);
    }
    return absolute(path);
  };
  if (program.find('/') != std::string::npos) return check(join_path(base_dir, program));
  const std::string local = join_path(base_dir.empty() ? "." : base_dir, program);
  if (::access(local.c_str(), F_OK) == 0) return check(local);
  const char* path_env = std::getenv("PATH");
  std::string_view dirs = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const std::string dir(dirs.substr(0, colon));
    dirs.remove_prefix(colon == std::string_view::npos ? dirs.size() : colon + 1);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return check(candidate);
  }
  return make_error(errc::bad_config,
                    fmt::format("program {}: not found (not a file here, nor in PATH)", program));
}

Result<controlplane::AccessKey> access_key(const json& item) {
  if (item.is_string() && !item.get<std::string>().empty()) {
    return controlplane::AccessKey{item.get<std::string>(), std::nullopt};
  }
  if (item.is_object() && item.contains("key") && item["key"].is_string() &&
      !item["key"].get<std::string>().empty()) {
    controlplane::AccessKey key{item["key"].get<std::string>(), std::nullopt};
    for (const auto& [name, value] : item.items()) {
      if (name != "key" && name != "commands") {
        return make_error(errc::bad_config, fmt::format("bad option accessKey: unknown field '{}'", name));
      }
    }
    if (item.contains("commands")) {
      const json& commands = item["commands"];
      if (!commands.is_array() || std::any_of(commands.begin(), commands.end(),
                                              [](const json& c) { return !c.is_string(); })) {
        return make_error(errc::bad_config, "bad option accessKey: commands must be an array of names");
      }
      key.commands.emplace();
      for (const auto& c : commands) key.commands->insert(c.get<std::string>());
    }
    return key;
  }
  // Never echo what might be a key.
  return make_error(errc::bad_config,
                    "bad option accessKey: each key must be a non-empty string or {\"key\": ..., \"commands\": [...]}");
}

}  // namespace

Result<ControlSettings> control_from_json(const json& config) {
  ControlSettings c;
  if (config.contains("accessKey")) {
    json keys = config["accessKey"];
    if (!keys.is_array()) keys = json::array({keys});
    for (const auto& item : keys) {
      auto key = access_key(item);
      if (!key) return key.error();
      c.keys.push_back(std::move(*key));
    }
  }
  if (config.contains("host")) {
    auto host = string(config, "host");
    if (!host) return host.error();
    c.host = *host;
  }
  if (config.contains("port")) {
    auto port = integer(config, "port", 0, 65535);
    if (!port) return port.error();
    c.port = static_cast<std::uint16_t>(*port);
  }
  if (config.contains("allowHttpGet")) {
    auto get = boolean(config, "allowHttpGet");
    if (!get) return get.error();
    c.allow_http_get = *get;
  }
  if (config.contains("control")) {
    const json& levels = config["control"];
    if (!levels.is_object()) return bad("control", "must be an object of command: level", levels);
    for (const auto& [command, level] : levels.items()) {
      const auto parsed = level.is_string() ? commands::parse_trust_level(level.get<std::string>())
                                            : std::nullopt;
      if (!parsed) {
        return bad("control", fmt::format("level of '{}' must be remote, local, inproc or disabled", command), level);
      }
      c.levels[command] = *parsed;
    }
  }
  if (config.contains("ssl")) {
    const json& ssl = config["ssl"];
    const auto is_path = [&](const char* field) {
      return ssl.contains(field) && ssl[field].is_string() &&
             !ssl[field].get<std::string>().empty();
    };
    if (!ssl.is_object() || !is_path("key") || !is_path("cert") || ssl.size() != 2) {
      return bad("ssl", "must be {\"key\": \"KEY.pem\", \"cert\": \"CERT.pem\"}", ssl);
    }
    c.ssl = SslFiles{ssl["key"].get<std::string>(), ssl["cert"].get<std::string>()};
  }
  if (config.contains("localNetworks")) {
    const json& networks = config["localNetworks"];
    if (!networks.is_array()) return bad("localNetworks", "must be an array of networks", networks);
    c.local_networks.clear();
    for (const auto& item : networks) {
      auto network = item.is_string() ? controlplane::Network::parse(item.get<std::string>()) : std::nullopt;
      if (!network) return bad("localNetworks", "each must be an address or ADDRESS/PREFIX", item);
      c.local_networks.push_back(*network);
    }
  }
  return c;
}

const std::vector<KeyInfo>& known_keys() {
  static const std::vector<KeyInfo> keys = {
      {"program", "the worker program to run (path, or a name looked up in PATH)"},
      {"workers", "the original's name for program"},
      {"args", "arguments for the worker program (array of strings)"},
      {"workerCount", "number of workers (default: number of processors)"},
      {"restartOnFailure", "restart a worker that exits unexpectedly (default true)"},
      {"restartDelayMs", "delay before restarting a failed worker (default 100)"},
      {"restartsPerMinute", "restarts of one worker allowed in a minute before it counts as a crash loop (default 10)"},
      {"restartConcurrencyRatio", "rolling restarts replace 1 + floor(n * ratio) workers at a time (default 0.33)"},
      {"listen", "socket(s) the master binds and passes to workers: PORT, HOST:PORT, NAME=HOST:PORT, unix:PATH"},
      {"ready", "when a worker counts as ready: auto (default), notify, started"},
      {"readyTimeoutMs", "how long a worker may take to become ready (default 30000)"},
      {"readyGraceMs", "auto mode: a silent worker is ready after living this long (default 500)"},
      {"stopSignal", "signal that asks a worker to stop (default SIGTERM)"},
      {"stopTimeoutMs", "time a stopping worker gets before SIGKILL (default 10000)"},
      {"cwd", "working directory of the workers"},
      {"env", "extra environment for the workers (object of strings)"},
      {"silent", "do not relay the workers' output (default false)"},
      {"rawOutput", "relay a worker's bytes as written, terminal escapes included: only for workers you trust with your terminal (default false: escaped)"},
      {"cli", "read commands typed on the terminal (default true)"},
      {"daemon", "run in the background (as cserviced does) (default false)"},
      {"pidFile", "daemon: where to write the master's pid (default cservice.pid)"},
      {"logFile", "daemon: where the master's and workers' output goes (default cservice.log)"},
      {"accessKey", "key(s) for the REST API and CLI: a string, or an array of strings or {\"key\", \"commands\"}"},
      {"host", "host of the REST API (default localhost)"},
      {"port", "port of the REST API (default 11987)"},
      {"allowHttpGet", "accept GET as well as POST on the REST API (default false)"},
      {"control", "access level per command: {\"exit\": \"inproc\", ...} (remote, local, inproc, disabled)"},
      {"commands", "directory (or array of directories) whose executables are commands"},
      {"commandTimeoutMs", "time a custom command gets to answer before it fails (default 30000)"},
      {"localNetworks", "networks whose peers count as local (default loopback; [] makes loopback remote)"},
      {"ssl", "the REST API speaks HTTPS: {\"key\": \"KEY.pem\", \"cert\": \"CERT.pem\"}"},
  };
  return keys;
}

std::uint32_t default_worker_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) {
    return static_cast<std::uint32_t>(CPU_COUNT(&set));
  }
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<std::uint32_t>(n) : 1;
}

Result<Options> from_json(const json& config, const std::string& base_dir) {
  if (!config.is_object()) {
    return make_error(errc::bad_config, "bad configuration: expected a JSON object");
  }
  for (const auto& item : config.items()) {
    const std::string& key = item.key();  // a structured binding: clang 14 cannot capture it
    const auto& keys = known_keys();
    if (std::none_of(keys.begin(), keys.end(), [&](const KeyInfo& k) { return key == k.name; })) {
      return make_error(errc::bad_config,
                        fmt::format("unknown option '{}'{}", key, suggestion(key)));
    }
  }
  if (config.contains("program") && config.contains("workers")) {
    return make_error(errc::bad_config, "bad options: give either program or workers, not both");
  }

  Options o;
  o.policy.worker_count = default_worker_count();

  const char* program_key = config.contains("workers") ? "workers" : "program";
  if (!config.contains(program_key)) {
    return make_error(errc::bad_config, "no program given: cservice [options] <program> [-- args...]");
  }
  auto program = string(config, program_key);
  if (!program) return program.error();

  if (config.contains("args")) {
    const json& args = config["args"];
    if (!args.is_array() ||
        std::any_of(args.begin(), args.end(), [](const json& a) { return !a.is_string(); })) {
      return bad("args", "must be an array of strings", args);
    }
    for (const auto& a : args) o.args.push_back(a.get<std::string>());
  }
  if (config.contains("workerCount")) {
    auto n = integer(config, "workerCount", 1, kMaxWorkers);
    if (!n) return n.error();
    o.policy.worker_count = static_cast<std::uint32_t>(*n);
  }
  if (config.contains("restartOnFailure")) {
    auto b = boolean(config, "restartOnFailure");
    if (!b) return b.error();
    o.policy.restart_on_failure = *b;
  }
  struct MsKey {
    const char* key;
    Milliseconds* target;
    std::int64_t low;
  };
  for (const MsKey& k : {MsKey{"restartDelayMs", &o.policy.restart_delay, 0},
                         MsKey{"readyTimeoutMs", &o.policy.ready_timeout, 1},
                         MsKey{"readyGraceMs", &o.policy.ready_grace, 0},
                         MsKey{"stopTimeoutMs", &o.policy.stop_timeout, 0},
                         MsKey{"commandTimeoutMs", &o.command_timeout, 1}}) {
    if (!config.contains(k.key)) continue;
    auto ms = integer(config, k.key, k.low, kMaxMs);
    if (!ms) return ms.error();
    *k.target = Milliseconds(*ms);
  }
  if (config.contains("restartsPerMinute")) {
    auto n = integer(config, "restartsPerMinute", 0, 100000);
    if (!n) return n.error();
    o.policy.restarts_per_minute = static_cast<std::uint32_t>(*n);
  }
  if (config.contains("restartConcurrencyRatio")) {
    const json& ratio = config["restartConcurrencyRatio"];
    if (!ratio.is_number() || ratio.get<double>() < 0 || ratio.get<double>() > 1) {
      return bad("restartConcurrencyRatio", "must be a number from 0 to 1", ratio);
    }
    o.policy.restart_concurrency_ratio = ratio.get<double>();
  }
  if (config.contains("listen")) {
    json list = config["listen"];
    if (list.is_string()) list = json::array({list});
    if (!list.is_array() || list.empty()) {
      return bad("listen", "must be an address or an array of addresses", config["listen"]);
    }
    if (list.size() > os::kMaxPassedFds) {
      return bad("listen", fmt::format("at most {} addresses", os::kMaxPassedFds), list.size());
    }
    for (const auto& item : list) {
      if (!item.is_string()) return bad("listen", "each address must be a string", item);
      auto endpoint = os::parse_endpoint(item.get<std::string>());
      if (!endpoint) return endpoint.error();
      if (endpoint->kind == os::Endpoint::Kind::Unix) {
        endpoint->path = join_path(base_dir, endpoint->path);
      }
      o.listen.push_back(std::move(*endpoint));
    }
    for (std::size_t i = 0; i < o.listen.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (o.listen[i].name == o.listen[j].name && o.listen[i].name != "listen") {
          return bad("listen", fmt::format("name '{}' is used twice", o.listen[i].name), list);
        }
      }
    }
  }
  if (config.contains("ready")) {
    const json& ready = config["ready"];
    const std::string mode = ready.is_string() ? ready.get<std::string>() : "";
    if (mode == "auto") {
      o.policy.ready_mode = supervisor::ReadyMode::Auto;
    } else if (mode == "notify") {
      o.policy.ready_mode = supervisor::ReadyMode::Notify;
    } else if (mode == "started") {
      o.policy.ready_mode = supervisor::ReadyMode::Started;
    } else {
      return bad("ready", "must be one of auto, notify, started", ready);
    }
  }
  if (config.contains("stopSignal")) {
    const json& value = config["stopSignal"];
    Result<int> signal = make_error(errc::bad_config, "");
    if (value.is_string()) signal = os::parse_signal(value.get<std::string>());
    if (value.is_number_integer()) signal = os::parse_signal(std::to_string(value.get<int>()));
    if (!signal) return bad("stopSignal", "must be a signal name or number, as SIGTERM", value);
    o.stop_signal = *signal;
  }
  if (config.contains("cwd")) {
    auto cwd = string(config, "cwd");
    if (!cwd) return cwd.error();
    o.cwd = absolute(join_path(base_dir, *cwd));
    struct stat st {};
    if (::stat(o.cwd.c_str(), &st) != 0) return os_error(fmt::format("cwd {}", o.cwd), errno);
    if (!S_ISDIR(st.st_mode)) {
      return make_error(errc::bad_config, fmt::format("cwd {}: not a directory", o.cwd));
    }
  }
  if (config.contains("env")) {
    const json& env = config["env"];
    if (!env.is_object()) return bad("env", "must be an object of strings", env);
    for (const auto& [key, value] : env.items()) {
      if (key.empty() || key.find('=') != std::string::npos || !value.is_string()) {
        return bad("env", fmt::format("entry '{}' must be NAME: \"value\"", key), value);
      }
      o.env[key] = value.get<std::string>();
    }
  }
  if (config.contains("silent")) {
    auto b = boolean(config, "silent");
    if (!b) return b.error();
    o.silent = *b;
  }
  if (config.contains("rawOutput")) {
    auto b = boolean(config, "rawOutput");
    if (!b) return b.error();
    o.raw_output = *b;
  }
  if (config.contains("daemon")) {
    auto b = boolean(config, "daemon");
    if (!b) return b.error();
    o.daemon = *b;
  }
  for (const auto& [key, target] : {std::pair{"pidFile", &o.pid_file}, std::pair{"logFile", &o.log_file}}) {
    if (!config.contains(key)) continue;
    auto path = string(config, key);
    if (!path) return path.error();
    *target = absolute(join_path(base_dir, *path));
  }
  if (config.contains("commands")) {
    json list = config["commands"];
    if (list.is_string()) list = json::array({list});
    if (!list.is_array()) return bad("commands", "must be a directory or an array of directories", list);
    for (const auto& item : list) {
      if (!item.is_string()) return bad("commands", "each directory must be a string", item);
      const std::string dir = absolute(join_path(base_dir, item.get<std::string>()));
      struct stat st {};
      if (::stat(dir.c_str(), &st) != 0) return os_error(fmt::format("commands {}", dir), errno);
      if (!S_ISDIR(st.st_mode)) {
        return make_error(errc::bad_config, fmt::format("commands {}: not a directory", dir));
      }
      o.command_dirs.push_back(dir);
    }
  }
  if (config.contains("cli")) {
    auto b = boolean(config, "cli");
    if (!b) return b.error();
    o.console = *b;
  }

  auto control = control_from_json(config);
  if (!control) return control.error();
  o.control = std::move(*control);
  if (o.control.ssl) {
    o.control.ssl->key = absolute(join_path(base_dir, o.control.ssl->key));
    o.control.ssl->cert = absolute(join_path(base_dir, o.control.ssl->cert));
  }

  // Relative to the workers' cwd if one is given, as the workers would see it.
  auto resolved = resolve_program(*program, o.cwd.empty() ? base_dir : o.cwd);
  if (!resolved) return resolved.error();
  o.program = std::move(*resolved);
  return o;
}

}  // namespace cservice::config
