#include "runtime/process_spawner.hpp"

#include "base/log.hpp"
#include "os/proc.hpp"
#include "os/spawn.hpp"
#include "runtime/stdio_relay.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>

extern char** environ;

namespace cservice::runtime {
namespace {

// Variables of the worker contract: never inherited from the master's own environment.
constexpr std::array<std::string_view, 10> kContractVariables = {
    "NOTIFY_SOCKET",        "LISTEN_FDS",         "LISTEN_PID",
    "LISTEN_FDNAMES",       "CSERVICE_WORKER_ID", "CSERVICE_WORKER_PID",
    "CSERVICE_WORKER_GROUP", "CSERVICE_STOP_SIGNAL", "CSERVICE_CONTROL_SOCKET",
    "CSERVICE_PROGRAM_PID"};

bool is_contract_variable(std::string_view entry) {
  const std::string_view key = entry.substr(0, entry.find('='));
  for (const auto name : kContractVariables) {
    if (key == name) return true;
  }
  return false;
}

}  // namespace

ProcessSpawner::ProcessSpawner(boost::asio::io_context& io, const config::Options& options,
                               const std::vector<os::ListenSocket>& sockets,
                               const std::string& notify_address, MasterOutput& output,
                               std::function<void()> on_exit,
                               std::function<void()> on_output_closed)
    : io_(io),
      options_(options),
      output_(output),
      on_exit_(std::move(on_exit)),
      on_output_closed_(std::move(on_output_closed)) {
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::string key(entry.substr(0, entry.find('=')));
    if (is_contract_variable(entry) || options.env.contains(key)) continue;
    base_env_.emplace_back(entry);
  }
  for (const auto& [key, value] : options.env) base_env_.push_back(key + "=" + value);
  base_env_.push_back("NOTIFY_SOCKET=" + notify_address);
  base_env_.push_back("CSERVICE_WORKER_GROUP=main");
  base_env_.push_back(fmt::format("CSERVICE_STOP_SIGNAL={}", options.stop_signal));
  if (!sockets.empty()) {
    std::string names;
    for (const auto& socket : sockets) {
      passed_fds_.push_back(socket.fd());
      if (!names.empty()) names += ':';
      names += socket.endpoint().name;
    }
    base_env_.push_back(fmt::format("LISTEN_FDS={}", sockets.size()));
    base_env_.push_back("LISTEN_FDNAMES=" + names);
  }
}

ProcessSpawner::~ProcessSpawner() = default;  // each Child kills and reaps what is left

Result<Pid> ProcessSpawner::start(WorkerId id, const supervisor::ProgramSpec& program) {
  os::SpawnSpec spec;
  spec.program = program.program;
  spec.args = program.args;
  spec.env = base_env_;
  spec.env.push_back(fmt::format("CSERVICE_WORKER_ID={}", to_int(id)));
  spec.cwd = program.cwd;
  spec.passed_fds = passed_fds_;
  // CSERVICE_WORKER_PID is inherited by the worker's descendants: it tells the master whose
  // descendant an orphan reparented to it was (Runtime::adopt_orphans).
  spec.pid_variables.push_back(std::string(kWorkerPidVariable));
  if (!passed_fds_.empty()) spec.pid_variables.emplace_back("LISTEN_PID");

  std::array<os::UniqueFd, 2> read_ends;
  std::array<os::UniqueFd, 2> write_ends;
  if (!options_.silent) {
    for (std::size_t i = 0; i < 2; ++i) {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) return os_error("spawn: output pipe", errno);
      read_ends[i].reset(fds[0]);
      write_ends[i].reset(fds[1]);
    }
    spec.stdout_fd = write_ends[0].get();
    spec.stderr_fd = write_ends[1].get();
  }

  auto child = os::spawn(spec);
  if (!child) return child.error();
  const Pid pid = child->pid();
  // Only the child holds the write ends now: EOF comes when it (and its group) are gone.
  write_ends[0].reset();
  write_ends[1].reset();

  if (!options_.silent) {
    const RelayBytes bytes = options_.raw_output ? RelayBytes::Raw : RelayBytes::Escaped;
    for (std::size_t i = 0; i < 2; ++i) {
      ++open_relays_;
      OutputSink& sink = i == 0 ? output_.out() : output_.err();
      const RelaySource source{to_int(id), to_int(pid), i == 0 ? Stream::Stdout : Stream::Stderr};
      auto relay = std::make_shared<StdioRelay>(io_, std::move(read_ends[i]), source, bytes,
                                                output_.scratch(), sink, [this] {
                                                  --open_relays_;
                                                  on_output_closed_();
                                                });
      relay->start();
    }
  }

  Running running{std::move(*child), nullptr};
  const int watch_fd = ::fcntl(running.child.pidfd(), F_DUPFD_CLOEXEC, 3);
  if (watch_fd >= 0) {
    running.exit_watch = std::make_unique<boost::asio::posix::stream_descriptor>(io_, watch_fd);
    running.exit_watch->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                                   [this](const boost::system::error_code& ec) {
                                     if (!ec) on_exit_();
                                   });
  } else {
    // Without the watch, SIGCHLD still wakes the reaper; only a little later.
    log::warn("worker {} pid {}: cannot watch pidfd: {}", to_int(id), to_int(pid),
              std::strerror(errno));
  }
  children_.emplace(to_int(pid), std::move(running));
  return pid;
}

void ProcessSpawner::stop(WorkerId id, Pid pid, supervisor::StopMode mode) {
  const bool kill = mode == supervisor::StopMode::Kill;
  const int signal = kill ? SIGKILL : options_.stop_signal;
  // SIGKILL at the stop timeout ends the whole tree below the process at once: what it started
  // meanwhile (even in sessions of its own, even in answer to the stop signal) would otherwise
  // be adopted and given a stop timeout of its own, one generation after another. Read from
  // /proc just before the signal: a pid read there could in theory exit and be recycled in
  // between, a window of microseconds.
  const std::vector<Pid> tree = kill ? os::descendants(pid) : std::vector<Pid>{};
  const auto it = children_.find(to_int(pid));
  if (it == children_.end()) {
    // An adopted orphan: our child, unreaped (the supervisor forgets it only once reaped), so
    // its pid, and the group it leads (a setsid daemon), cannot have been recycled. One signal
    // each: the group if it leads one (it is in it), else the process.
    if (::getpgid(to_int(pid)) != to_int(pid) || ::kill(-to_int(pid), signal) != 0) {
      ::kill(to_int(pid), signal);
    }
  } else if (auto sent = it->second.child.signal_group(signal); !sent) {
    log::warn("worker {}: {}", to_int(id), sent.error().message);
  }
  for (const Pid descendant : tree) ::kill(to_int(descendant), SIGKILL);
}

void ProcessSpawner::forget(Pid pid) {
  const auto it = children_.find(to_int(pid));
  if (it == children_.end()) return;
  it->second.child.mark_reaped();
  children_.erase(it);
}

}  // namespace cservice::runtime
