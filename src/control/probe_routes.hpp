#pragma once
// ProbeRoutes answers the HTTP endpoints for orchestrators and monitoring, beside /cli:
//   GET /healthz  200 "ok\n": the master's loop is running. No key.
//   GET /readyz   200 "<reason>\n" when enough workers are ready, else 503 with the reason
//                 ("2/4 workers ready, need 4"). No key.
//   GET /metrics  the Prometheus text format. The key (Bearer header or accessKey parameter, as
//                 /cli) unless `metricsPublic`; else 401.
// HEAD as GET, without the body; any other method is 405.
//
// Every answer is given at once, on the loop, from the master's present state: the server treats
// these paths as unauthenticated requests (serve.cpp's Authenticate says no for them, key or
// not), which are answered by the handler at once and never wait for an authenticated slot, so a
// probe is answered even while every slot is held by slow commands. Loop thread only.

#include "control/http_server.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace cservice::controlplane {

// What the service is, as /readyz reports it.
struct ReadyState {
  bool ready = false;
  std::string reason;  // one line
};

struct ProbeHooks {
  std::function<bool(const HttpRequest&)> has_key;  // whether the request presents a valid key
  std::function<std::string()> metrics;             // the /metrics body
  std::function<ReadyState()> readiness;
};

class ProbeRoutes {
 public:
  ProbeRoutes(ProbeHooks hooks, bool metrics_public)
      : hooks_(std::move(hooks)), metrics_public_(metrics_public) {}

  // Whether `target` names one of these paths (whatever its query).
  static bool handles(std::string_view target);

  // Answers `request` (one that handles() accepts) at once.
  void on_http(const HttpRequest& request, const HttpServer::Respond& respond) const;

 private:
  ProbeHooks hooks_;
  bool metrics_public_;
};

}  // namespace cservice::controlplane
