#pragma once
// The environment of the programs the master runs for its callers (directory commands, test
// scripts): the master's own, without the variables meant for the master or its workers
// (CSERVICE_*, NOTIFY_SOCKET, LISTEN_*), and, when the REST API runs, where and how to reach the
// service: CSERVICE_HOST, CSERVICE_PORT, CSERVICE_URL and CSERVICE_ACCESS_KEY (the first key).

#include <string>
#include <vector>

#include "config/options.hpp"
#include "control/http_server.hpp"

namespace cservice::app {

// `http` is the REST API's server, or nullptr when it does not run.
std::vector<std::string> command_environment(const config::Options& options,
                                             const controlplane::HttpServer* http);

}  // namespace cservice::app
