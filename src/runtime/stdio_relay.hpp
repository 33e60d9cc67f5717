#pragma once
// StdioRelay copies one worker pipe (stdout or stderr) to one of the master's outputs, line by
// line, each line prefixed with the worker's name. It reads until end of file, not until the
// worker is reaped, so a worker that writes and crashes at once loses nothing: the pipe keeps
// what was written after the writer is gone. The lines of each read go to the sink in one
// piece, so lines from different workers never interleave mid-line.
//
// It never blocks the loop and never drops a line: it waits for the pipe to be readable, reads
// without blocking into the buffer all relays share (RelayScratch) and hands the
// whole lines to the sink at once. While the sink is full it stops reading, so the worker blocks
// on its own write once its pipe is full, as on a slow terminal; it reads again once the sink
// has drained. What it keeps between reads: its prefix and an incomplete line, if any (cut at
// 64 KiB, see LineSplitter). Loop thread only; kept alive by its pending wait.
//
// Lines go out as the worker wrote them, control characters and bytes that are not UTF-8
// included: this is the worker's own stream (colours for a terminal are legitimate output), and
// it cannot pass for the master's log, since every line the relay writes begins with the
// worker's prefix (a '\n' always ends a line; a '\r' or an escape sequence can disturb what a
// terminal shows, not the lines of a log file). The master's own lines are sanitized in log::.

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "os/unique_fd.hpp"
#include "runtime/line_splitter.hpp"
#include "runtime/output_sink.hpp"

namespace cservice::runtime {

// Scratch space shared by every relay of a master (MasterOutput owns it): where a relay reads,
// and where it builds the prefixed lines it hands to its sink. Valid only within one handler.
struct RelayScratch {
  static constexpr std::size_t kReadSize = 64 * 1024;
  std::vector<char> read = std::vector<char>(kReadSize);
  std::string batch;
};

class StdioRelay : public std::enable_shared_from_this<StdioRelay> {
 public:
  // `scratch` and `sink` must outlive every handler of the relay. `on_closed` runs once, at end
  // of file.
  StdioRelay(boost::asio::io_context& io, os::UniqueFd pipe, std::string prefix,
             RelayScratch& scratch, OutputSink& sink, std::function<void()> on_closed);
  void start();

 private:
  // Reads what the pipe holds now, then waits for more (or for the sink to drain).
  void pump();
  void wait_readable();
  // Relays `data` as prefixed lines; at end of file (`last`) the incomplete line too.
  void relay(std::string_view data, bool last);
  void close();

  boost::asio::posix::stream_descriptor pipe_;
  std::string prefix_;
  RelayScratch& scratch_;
  OutputSink& sink_;
  std::function<void()> on_closed_;
  LineSplitter splitter_;
};

}  // namespace cservice::runtime
