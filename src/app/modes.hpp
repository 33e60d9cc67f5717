#pragma once
// The modes of the cservice command. main.cpp picks one from the command line.

#include "app/running.hpp"
#include "config/flags.hpp"
#include "config/options.hpp"
#include "control/http_client.hpp"

namespace cservice::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // a runtime failure; in remote mode, a refused command
inline constexpr int kExitUsage = 2;

// Serve: run the workers (and the REST API when an access key is set) until stopped.
int serve(const config::Options& options, const ServeHooks& hooks = {});

// Remote: send one command line to the service on host:port and print its answer.
int remote(const config::CommandLine& command_line);

// Console: stdin's lines are sent to the service on host:port, as by a second serve on its port
// (without a program to serve if none answers).
int console_for(const config::CommandLine& command_line);

// How a client reaches a service configured with `control`: HTTPS if `https`, or given a CA
// file, or if `control` has `ssl` (then trusting its certificate unless `ca_file` is given);
// nullopt: plain HTTP. Empty ca_file in the result: the system's store.
std::optional<controlplane::ClientTls> client_tls(const config::ControlSettings& control,
                                                  const std::string& ca_file, bool https);

}  // namespace cservice::app
