#pragma once
// Rollout is the state of one rolling restart or upgrade: which slots are still to be replaced,
// which replacements are starting, which old processes are still on their way out, and what
// was replaced (so that a failure can put it back). The Supervisor drives it
// (supervisor_rollouts.cpp); this type holds the bookkeeping and the wording of its answer.
//
//   phase        event                               -> next
//   Forward      a replacement ready (after the      -> Forward     promote it: the old process
//                canary's trial and test gate, for                  gets the stop signal
//                an upgrade)
//   Forward      every slot replaced                 -> Forward     bake: the new fleet is
//                                                                   watched for `bake` ms
//   Forward      every slot replaced, baked, old     -> done        answer {"replaced": [...]}
//                ones gone
//   Forward      a replacement fails (exit, not      -> RollingBack every replaced slot whose
//                ready in time, cannot start), the              program changed is replaced
//                test gate fails, a replaced worker             again by its previous one,
//                of a new program exits (also while             ready-before-stop
//                baking), or the operator cancels
//   Forward      the same, nothing to put back       -> done        answer: cancelled, why
//   RollingBack  every slot back, old ones gone      -> done        answer: failed, rolled back
//   RollingBack  a replacement fails                 -> done        answer: failed, ROLLBACK
//                                                                   FAILED (logged loudly); the
//                                                                   service keeps serving
//   any          the service shuts down              -> done        answer: cancelled
//
// An upgrade's forward phase goes through the stages of RolloutStage: its first replacement (the
// canary) starts alone, serves beside the old workers on trial for `monitor` ms, then while it
// still serves the test gate runs; only then is it promoted and the rest replaced in batches.

#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "supervisor/types.hpp"

namespace cservice::supervisor {

// An upgrade's test gate: it runs while the canary serves and calls `done` once with its verdict
// (an error's message says why it failed). It returns a function that stops it early; the
// supervisor calls that when the rollout ends first (then a late `done` is ignored).
using Gate = std::function<std::function<void()>(std::function<void(Result<void>)> done)>;

// Where a rollout is. An upgrade goes Canary (its first replacement starting), Monitor (that
// one serving on trial), Test (the gate running while it serves), Replace (the rest, in
// batches), Bake (the whole new fleet watched), and ends; a restart is Replace only. A failure
// anywhere goes RollingBack when something is to be put back.
enum class RolloutStage { Canary, Monitor, Test, Replace, Bake, RollingBack };
const char* to_string(RolloutStage stage);

struct RolloutProgress {
  RolloutStage stage = RolloutStage::Replace;
  std::size_t done = 0;   // slots replaced (RollingBack: put back) so far
  std::size_t total = 0;  // slots to replace (RollingBack: to put back)
};

struct RolloutRequest {
  Reason reason = Reason::Restart;           // Restart, Upgrade, or Rollback (an upgrade back)
  std::optional<Pid> only;                   // one worker, by pid; nullopt: all
  std::optional<ProgramSpec> program;        // Upgrade, Rollback: the new program
  std::optional<Milliseconds> stop_timeout;  // for the old workers; default: the policy's
  std::optional<Milliseconds> monitor;       // Upgrade: default: the policy's upgrade_monitor
  std::string description;                   // "restart all", for messages
  Gate test = {};                            // Upgrade: run after the monitor period; none: skip
  std::string test_name = {};                // "test /srv/smoke", for messages
  Milliseconds bake{0};                      // the new fleet is watched this long at the end
  std::optional<std::size_t> batch = {};     // workers replaced at a time; default: the ratio's
  // Called at each stage change and each replaced slot (on the loop, inside the supervisor:
  // it must not call back into it).
  std::function<void(const RolloutProgress&)> on_progress = {};
};

// Workers replaced at a time in a rollout of `n` workers.
std::size_t rollout_batch_size(std::size_t n, double ratio);

struct Rollout {
  enum class Phase { Forward, RollingBack };

  // One slot that was replaced: what it ran before, so that it can be put back.
  struct Replaced {
    WorkerId slot{};
    std::optional<Pid> old_pid;
    Pid new_pid{};
    SpecPtr previous;
    SpecPtr next;
  };

  RolloutRequest request;
  std::uint64_t serial = 0;  // tells a late gate verdict from this rollout's
  SpecPtr program;           // Upgrade: the new program; null for a restart
  Phase phase = Phase::Forward;
  RolloutStage stage = RolloutStage::Replace;
  RolloutStage failed_stage = RolloutStage::Replace;  // where the forward phase failed
  std::deque<WorkerId> pending;        // slots still to replace in this phase
  std::map<WorkerId, SpecPtr> target;  // what each slot runs at the end of this phase
  std::set<WorkerId> active;           // a replacement is starting in the slot
  std::set<Pid> retiring;              // old processes told to stop, not yet exited
  std::vector<Replaced> replaced;      // by the forward phase
  std::vector<Replaced> restored;      // by the rollback
  std::vector<WorkerId> restarting;    // rolled back by a restart: their new process had died
  std::size_t batch = 1;
  Milliseconds stop_timeout{};
  Milliseconds monitor{};
  bool canary = false;                     // Upgrade: the first replacement is on trial
  std::optional<TimePoint> monitor_until;  // the canary's trial ends then
  bool testing = false;                    // the test gate is running
  std::function<void()> stop_test;         // stops it
  std::optional<TimePoint> bake_until;     // baking: the new fleet is watched until then
  bool baked = false;                      // the bake is over (or there was none)
  bool shutting_down = false;              // abandoned because the service stops
  std::string failure;                     // why the forward phase failed
  std::string failure_detail;              // more lines about it (a test's output), or empty
  Completion done;

  // Replacements that may be starting at once now.
  std::size_t limit() const { return canary ? 1 : batch; }
  // Every slot replaced (old ones may still be on their way out).
  bool all_replaced() const { return pending.empty() && active.empty(); }
  bool is_over() const { return all_replaced() && retiring.empty() && (baked || phase == Phase::RollingBack); }
  // Where it stands, for progress reports.
  RolloutProgress progress() const;
  // The slots the forward phase moved to another program, most recent last.
  std::vector<Replaced> to_put_back() const;
  // The answer of a rollout that succeeded: {"replaced": [{worker, oldPid, newPid}...]}.
  nlohmann::json summary() const;
  // The answer's text after a failure: what failed, what was put back, what still runs.
  std::string failure_message(const std::string& rollback_error = {}) const;
};

}  // namespace cservice::supervisor
