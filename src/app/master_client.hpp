#pragma once
// The worker's end of the worker channel (control/worker_channel.hpp): sends one request to the
// master named by CSERVICE_CONTROL_SOCKET and waits for its answer. Blocking, bounded by
// `timeout`; one connection per call, so any thread may call it. No Asio: it runs in workers
// that have no loop of ours.

#include <chrono>
#include <string>

#include "cservice/command.hpp"

namespace cservice::app {

Answer call_master(const std::string& name, const Args& args, std::chrono::milliseconds timeout);

}  // namespace cservice::app
