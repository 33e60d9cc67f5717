#include "supervisor/rollout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace cservice::supervisor {
namespace {

nlohmann::json describe(const Rollout::Replaced& r) {
  nlohmann::json entry = {{"worker", to_int(r.slot)}, {"newPid", to_int(r.new_pid)}};
  if (r.old_pid) entry["oldPid"] = to_int(*r.old_pid);
  return entry;
}

}  // namespace

std::size_t rollout_batch_size(std::size_t n, double ratio) {
  if (n == 0) return 0;
  const double extra = std::floor(static_cast<double>(n) * std::max(0.0, ratio));
  return std::min(n, 1 + static_cast<std::size_t>(extra));
}

std::vector<Rollout::Replaced> Rollout::to_put_back() const {
  std::vector<Replaced> out;
  for (const auto& r : replaced) {
    if (r.previous && r.next && !(*r.previous == *r.next)) out.push_back(r);
  }
  return out;
}

RolloutProgress Rollout::progress() const {
  if (phase == Phase::RollingBack) {
    return {stage, restored.size() + restarting.size(), to_put_back().size()};
  }
  return {stage, replaced.size(), target.size()};
}

nlohmann::json Rollout::summary() const {
  nlohmann::json result = {{"replaced", nlohmann::json::array()}};
  for (const auto& r : replaced) result["replaced"].push_back(describe(r));
  return result;
}

std::string Rollout::failure_message(const std::string& rollback_error) const {
  // The stage is named where there is more than one (an upgrade's).
  const std::string at = request.reason == Reason::Restart
                             ? std::string()
                             : fmt::format(" at stage {}", to_string(failed_stage));
  const std::string detail = failure_detail.empty() ? "" : "\n" + failure_detail;
  if (phase == Phase::Forward) {
    if (replaced.size() == target.size() && !replaced.empty()) {
      return fmt::format("{} cancelled{}: {}; all {} worker(s) had been replaced{}",
                         request.description, at, failure, replaced.size(), detail);
    }
    return fmt::format(
        "{} cancelled{}: {}; {} worker(s) replaced, the others {}{}", request.description, at,
        failure, replaced.size(),
        shutting_down ? "are stopping with the service" : "keep running as before", detail);
  }
  std::string text = fmt::format("{} failed{}: {}", request.description, at, failure);
  std::string pids;
  for (const auto& r : restored) {
    pids += fmt::format("{}worker {} pid {}", pids.empty() ? "" : ", ", to_int(r.slot),
                        to_int(r.new_pid));
  }
  for (const WorkerId id : restarting) {
    pids += fmt::format("{}worker {} (restarting)", pids.empty() ? "" : ", ", to_int(id));
  }
  const std::size_t back = restored.size() + restarting.size();
  if (!rollback_error.empty()) {
    return text + fmt::format(
                      "; ROLLBACK FAILED: {}; {} of {} replaced worker(s) rolled back{}{}; the "
                      "others still run the new program{}",
                      rollback_error, back, to_put_back().size(),
                      pids.empty() ? "" : ": ", pids, detail);
  }
  return text + fmt::format("; rolled back {} worker(s) to the previous program{}{}{}", back,
                            pids.empty() ? "" : ": ", pids, detail);
}

}  // namespace cservice::supervisor
