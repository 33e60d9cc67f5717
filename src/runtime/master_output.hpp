#pragma once
// MasterOutput is the master's stdout and stderr while the runtime exists: an OutputSink for
// each, the one read buffer all StdioRelays share (a relay reads into it and hands the lines on
// at once, so an idle worker costs its relays' few hundred bytes, not a buffer each), and the
// routing of the master's own log lines into the stderr sink, behind the worker lines already
// queued there, instead of a blocking write to fd 2.
//
// The log routing is installed by the constructor and the previous log sink restored by the
// destructor. Loop thread only: a line logged from another thread is written to fd 2 directly,
// as without this class.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/log.hpp"
#include "runtime/output_sink.hpp"
#include "runtime/stdio_relay.hpp"

namespace cservice::runtime {

class MasterOutput {
 public:
  explicit MasterOutput(boost::asio::io_context& io, OutputSink::Limits limits = {});
  ~MasterOutput();
  MasterOutput(const MasterOutput&) = delete;
  MasterOutput& operator=(const MasterOutput&) = delete;

  OutputSink& out() { return *out_; }
  OutputSink& err() { return *err_; }  // the same object as out() if fds 1 and 2 are one file

  // The read buffer every relay shares.
  RelayScratch& scratch() { return scratch_; }

  // Runs `done` once, posted to the loop, when both sinks are empty (or have failed).
  void when_flushed(std::function<void()> done);

  // Points stdout and stderr at the file `path` (opened as the daemon's log file is: appended,
  // created if missing, os::SafeFile's checks), for rename-then-signal rotation (SIGUSR1). Both
  // fds are replaced by dup2(), each at once, between two writes of the loop: every line goes
  // whole to the old file or to the new one. On failure nothing changes. Meant for a regular
  // file: a sink writing a FIFO or terminal through a description of its own (Mode::Private)
  // keeps writing there.
  Result<void> reopen(const std::string& path);

 private:
  std::unique_ptr<OutputSink> out_;
  std::unique_ptr<OutputSink> own_err_;  // null when stderr shares out_
  OutputSink* err_;
  RelayScratch scratch_;
  log::Sink previous_log_sink_;
};

}  // namespace cservice::runtime
