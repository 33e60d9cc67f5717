#pragma once
// ProcessSpawner is the real Spawner: it starts worker processes with the worker contract
// (NOTIFY_SOCKET, LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES, CSERVICE_WORKER_ID, the listening
// sockets from fd 3), relays their output, and watches each pidfd so an exit wakes the loop.
// It does not reap: the runtime's reaper does, and then calls forget(). Loop thread only.
// Output goes to the master's stdout and stderr through `output`'s sinks, with backpressure
// (see StdioRelay): a worker costs the master a few KB, whatever it writes.

#include "config/options.hpp"
#include "os/child.hpp"
#include "os/listen_socket.hpp"
#include "runtime/master_output.hpp"
#include "supervisor/types.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cservice::runtime {

// Every worker and its descendants get CSERVICE_WORKER_PID=<the worker's pid>.
inline constexpr std::string_view kWorkerPidVariable = "CSERVICE_WORKER_PID";

class ProcessSpawner final : public supervisor::Spawner {
 public:
  // `options`, `sockets` and `output` must outlive the spawner. `on_exit` runs on the loop when a
  // worker's pidfd says it has exited (the caller then reaps); `on_output_closed` when one of the
  // output pipes reaches end of file.
  ProcessSpawner(boost::asio::io_context& io, const config::Options& options,
                 const std::vector<os::ListenSocket>& sockets, const std::string& notify_address,
                 MasterOutput& output, std::function<void()> on_exit,
                 std::function<void()> on_output_closed);
  ~ProcessSpawner() override;

  Result<Pid> start(WorkerId id, const supervisor::ProgramSpec& spec) override;
  // Signals a worker's process group, or an adopted orphan (and the group it leads).
  void stop(WorkerId id, Pid pid, supervisor::StopMode mode) override;

  // Adds KEY=value to the environment of workers started from now on.
  void add_env(const std::string& key, const std::string& value) {
    base_env_.push_back(key + "=" + value);
  }

  bool is_child(Pid pid) const { return children_.contains(to_int(pid)); }
  // The reaper has collected `pid`: drop its Child (already reaped) and its pidfd watch.
  void forget(Pid pid);
  // Output pipes not yet at end of file.
  std::size_t open_relays() const { return open_relays_; }

 private:
  struct Running {
    os::Child child;
    std::unique_ptr<boost::asio::posix::stream_descriptor> exit_watch;
  };

  boost::asio::io_context& io_;
  const config::Options& options_;
  MasterOutput& output_;
  std::vector<int> passed_fds_;
  std::vector<std::string> base_env_;
  std::function<void()> on_exit_;
  std::function<void()> on_output_closed_;
  std::map<pid_t, Running> children_;
  std::size_t open_relays_ = 0;
};

}  // namespace cservice::runtime
