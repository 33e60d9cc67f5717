#pragma once
// What a worker program links (cservice::worker): its half of the worker contract, the same one
// systemd defines, so the calls below also work under systemd. Every function is a harmless
// no-op when the program runs standalone, outside a cservice master (or systemd), so one binary
// serves both ways. No Boost; no thread unless on_stop() is used; safe to call from any thread.
//
//   NOTIFY_SOCKET       where worker_ready() and friends send their notify datagrams
//   LISTEN_FDS/_PID     how many listening sockets the master passed, from fd 3 on
//   LISTEN_FDNAMES      their names, ':'-separated ("listen" unless named in --listen NAME=...)
//   CSERVICE_WORKER_ID  this worker's slot number, stable across restarts (from 1)
//   CSERVICE_STOP_SIGNAL  the number of the signal that asks this worker to stop (SIGTERM)
//   CSERVICE_CONTROL_SOCKET  where call() and trigger() (service.hpp) reach the master

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cservice {

// True when this process was started by a cservice master.
bool is_worker() noexcept;

// This worker's slot number (CSERVICE_WORKER_ID), or 0 outside a master.
int worker_id() noexcept;

// Tells the master this worker is ready for work (READY=1), or, with false, that it is not
// ready yet and the master should wait for a later worker_ready() (bounded by the ready
// timeout). Returns true if the message was sent; false standalone or on error.
bool worker_ready(bool ready = true) noexcept;

// Sets the free-form status the master shows for this worker (STATUS=text). Newlines in `text`
// are replaced by spaces.
bool worker_status(std::string_view text) noexcept;

// Tells the master this worker is shutting down by itself (STOPPING=1).
bool worker_stopping() noexcept;

// Sends a raw notify message ("KEY=value" lines). For the less common parts of the protocol,
// such as EXTEND_TIMEOUT_USEC=.
bool notify(std::string_view message) noexcept;

// Calls `on_stop` once when this worker is asked to stop (the original's onWorkerStop): on the
// master's stop signal (CSERVICE_STOP_SIGNAL, SIGTERM by default), or SIGINT. It runs on a
// thread of its own, not in a signal handler: close the listening sockets there (or hand that
// to your event loop), finish the requests in flight, and exit; the master kills the worker
// when its stopTimeoutMs runs out. Returns false if a callback was already installed or the
// signal handler could not be set (the default action, exit, stays then).
bool on_stop(std::function<void()> on_stop);

// A listening socket passed by the master. The fd stays owned by the process (close it to stop
// accepting, as a draining worker does); it is close-on-exec.
struct ListenSocket {
  int fd;
  std::string name;
};

// The sockets passed to this process (checked against LISTEN_PID), in order. Empty standalone.
const std::vector<ListenSocket>& listen_sockets();

// The fd of the passed socket called `name`; an empty name means the first one. -1 if none.
int listen_fd(std::string_view name = {});

}  // namespace cservice
