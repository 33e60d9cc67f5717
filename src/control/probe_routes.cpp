#include "control/probe_routes.hpp"

#include <boost/url/parse.hpp>

namespace cservice::controlplane {

namespace {

constexpr std::string_view kText = "text/plain; charset=utf-8";
// The Prometheus text exposition format.
constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

std::string path_of(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return {};
  return std::string(parsed->path());
}

}  // namespace

bool ProbeRoutes::handles(std::string_view target) {
  const std::string path = path_of(target);
  return path == "/healthz" || path == "/readyz" || path == "/metrics";
}

void ProbeRoutes::on_http(const HttpRequest& request, const HttpServer::Respond& respond) const {
  const bool head = request.method == "HEAD";
  // HEAD: the status and type of GET, no body (and so a Content-Length of 0).
  const auto answer = [&](unsigned status, std::string_view type, std::string body) {
    respond({status, std::string(type), head ? std::string() : std::move(body)});
  };
  if (request.method != "GET" && !head) {
    answer(405, kText, "use GET or HEAD\n");
    return;
  }
  const std::string path = path_of(request.target);
  if (path == "/healthz") {
    answer(200, kText, "ok\n");
  } else if (path == "/readyz") {
    const ReadyState state = hooks_.readiness();
    answer(state.ready ? 200 : 503, kText, state.reason + "\n");
  } else if (path == "/metrics") {
    if (!metrics_public_ && !hooks_.has_key(request)) {
      answer(401, kText,
             "a valid access key is required (Authorization: Bearer, or accessKey); "
             "or set metricsPublic\n");
      return;
    }
    answer(200, kMetricsType, head ? std::string() : hooks_.metrics());
  } else {
    answer(404, kText, "not found\n");
  }
}

}  // namespace cservice::controlplane
