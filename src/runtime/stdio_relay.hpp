#pragma once
// StdioRelay copies one worker pipe (stdout or stderr) to one of the master's outputs, line by
// line, each line prefixed with the worker's name, in the log's style (base/log.hpp):
//   Plain  "worker 1[4242]: line"
//   Text   "2026-11-28T16:20:01.123Z info worker 1[4242]: line" (the time the master read it;
//          the level is always info, as journald gives a service's stdout and stderr alike)
//   Json   {"time":"...","level":"info","worker":1,"pid":4242,"stream":"stderr","message":"line"}
// Under the journal (Style::journal) a Text line is "worker 1[4242]: line", without a priority
// of ours, so that the unit's SyslogLevel= applies; a worker line that starts with its own
// sd-daemon priority ("<3>disk full") keeps it: "<3>worker 1[4242]: disk full". It reads until end of file, not until the
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
// Each line is escaped as it is copied (RelayBytes::Escaped, the default): valid UTF-8 stays as
// it is, and so does a tab; other control characters and bytes that are not UTF-8 become
// escapes (base/text.hpp: ESC is \x1b, CR \r, 0xff \xff), so that a worker can neither move a
// terminal's cursor to overwrite or forge the master's lines nor hand a log consumer invalid
// UTF-8. Backslashes are kept (a worker's JSON log line stays JSON). A '\r' just before the '\n'
// (CRLF line ends) is dropped. A line is never cut but by LineSplitter; escaped, it may grow to
// four times its length, so one read can hand the sink up to four times kReadSize.
// RelayBytes::Raw (`rawOutput`) copies the worker's bytes as written, terminal escapes
// included, for workers trusted with the master's terminal.

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.hpp"
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
  std::string line;
};

enum class RelayBytes { Escaped, Raw };
enum class Stream { Stdout, Stderr };

// Whose lines a relay copies.
struct RelaySource {
  std::uint32_t worker = 0;
  int pid = 0;
  Stream stream = Stream::Stdout;
};

// What goes around each line of one batch (one read: they share its time).
struct RelayLineFormat {
  log::Style style;
  std::string head;  // all before the line's text: time, level, name; or the JSON fields
  std::string_view tail;  // "}" for JSON
};
RelayLineFormat relay_line_format(log::Style style, log::SystemTime time,
                                  const RelaySource& source);

// Appends one relayed line to `batch`: `line` (without its '\n') escaped or raw as `bytes` says,
// formatted as `format` says, and a '\n'. The one place a worker's line is formatted. `scratch`
// is working space.
void append_relayed_line(std::string& batch, const RelayLineFormat& format, std::string_view line,
                         RelayBytes bytes, std::string& scratch);

class StdioRelay : public std::enable_shared_from_this<StdioRelay> {
 public:
  // `scratch` and `sink` must outlive every handler of the relay. `on_closed` runs once, at end
  // of file.
  StdioRelay(boost::asio::io_context& io, os::UniqueFd pipe, RelaySource source, RelayBytes bytes,
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
  RelaySource source_;
  RelayBytes bytes_;
  RelayScratch& scratch_;
  OutputSink& sink_;
  std::function<void()> on_closed_;
  LineSplitter splitter_;
};

}  // namespace cservice::runtime
