#pragma once
// Options of a service, from a JSON file, from flags, or from library mode's start(json). All
// sources produce one JSON object with the wire names (camelCase, as the original); one
// validator, from_json(), turns it into Options or names the bad key or value. Which keys exist,
// their types and defaults: the one table, option_table.hpp.

#include "base/error.hpp"
#include "base/log.hpp"
#include "commands/trust_level.hpp"
#include "control/access.hpp"
#include "os/listen_socket.hpp"
#include "supervisor/policy.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cservice::config {

// `ssl`: the REST API speaks HTTPS with this key and certificate (PEM files).
struct SslFiles {
  std::string key;
  std::string cert;
};

// The control plane: REST API on host:port, started when an access key is configured.
struct ControlSettings {
  std::vector<controlplane::AccessKey> keys;
  std::string host = "localhost";
  std::uint16_t port = 11987;
  bool allow_http_get = false;
  bool metrics_public = false;  // `metricsPublic`: GET /metrics without a key
  std::map<std::string, commands::TrustLevel> levels;  // per-command overrides (`control`)
  std::vector<controlplane::Network> local_networks = controlplane::loopback_networks();
  std::optional<SslFiles> ssl;
};

struct Options {
  std::string program;             // resolved: an existing executable file
  std::vector<std::string> args;   // its arguments
  supervisor::Policy policy;       // workerCount, restarts, readiness, stop timeout
  std::optional<std::uint32_t> min_ready;  // `minReady` for /readyz; unset: all but replaced
  std::vector<os::Endpoint> listen;
  int stop_signal = 15;            // SIGTERM
  std::string cwd;                 // workers' working directory; empty: the master's
  std::string cwd_as_named;        // the same before links were resolved, if it differs
  std::map<std::string, std::string> env;  // added to the inherited environment
  bool silent = false;             // do not relay workers' output
  bool raw_output = false;         // `rawOutput`: relay workers' bytes unescaped (StdioRelay)
  log::Format log_format = log::Format::Text;  // `logFormat`: the master's and relayed lines
  bool console = true;             // `cli`: read commands from a terminal on stdin
  bool daemon = false;             // detach; output to log_file, pid to pid_file
  std::string pid_file = "cservice.pid";
  std::string log_file = "cservice.log";
  ControlSettings control;
  std::vector<std::string> command_dirs;  // `commands`: directories of command programs
  Milliseconds command_timeout{30000};    // `commandTimeoutMs`: custom commands' time to answer
};

// Validates `config` and resolves the program. Relative paths (program, cwd) are taken from
// `base_dir` (the config file's directory; empty for the current directory, as for flags).
// The program is returned as an absolute path.
Result<Options> from_json(const nlohmann::json& config, const std::string& base_dir);

// The control-plane keys of `config` alone (for remote mode, which needs no program).
Result<ControlSettings> control_from_json(const nlohmann::json& config);

// Number of processors this process may run on (the default workerCount).
std::uint32_t default_worker_count();

}  // namespace cservice::config
