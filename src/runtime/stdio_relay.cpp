#include "runtime/stdio_relay.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <iterator>

#include "base/text.hpp"

namespace cservice::runtime {
namespace {

// Reads in one turn of the loop before the relay lets other handlers run.
constexpr int kReadsPerTurn = 4;

}  // namespace

RelayLineFormat relay_line_format(log::Style style, log::SystemTime time,
                                  const RelaySource& source) {
  RelayLineFormat format{style, {}, {}};
  std::string& head = format.head;
  switch (style.format) {
    case log::Format::Plain:
      break;
    case log::Format::Text:
      if (style.journal) break;
      log::append_timestamp(head, time);
      head += " info ";
      break;
    case log::Format::Json:
      head += "{\"time\":\"";
      log::append_timestamp(head, time);
      fmt::format_to(std::back_inserter(head),
                     "\",\"level\":\"info\",\"worker\":{},\"pid\":{},\"stream\":\"{}\",\"message\":",
                     source.worker, source.pid,
                     source.stream == Stream::Stdout ? "stdout" : "stderr");
      format.tail = "}";
      return format;
  }
  fmt::format_to(std::back_inserter(head), "worker {}[{}]: ", source.worker, source.pid);
  return format;
}

void append_relayed_line(std::string& batch, const RelayLineFormat& format, std::string_view line,
                         RelayBytes bytes, std::string& scratch) {
  if (bytes == RelayBytes::Escaped && line.ends_with('\r')) line.remove_suffix(1);  // CRLF
  if (format.style.format == log::Format::Json) {
    batch += format.head;
    if (bytes == RelayBytes::Raw) {
      log::append_json_string(batch, line);  // JSON escapes control characters itself
    } else {
      // Escaped as in Text, so that a byte that is not UTF-8 shows which it was (\xff).
      scratch.clear();
      append_escaped(scratch, line, Backslashes::Kept, Tabs::Kept);
      log::append_json_string(batch, scratch);
    }
    batch += format.tail;
    batch += '\n';
    return;
  }
  // sd-daemon(3)'s "<N>" before a line: journald reads it only at the start of the line.
  if (format.style.journal && format.style.format == log::Format::Text && line.size() >= 3 &&
      line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') {
    batch += line.substr(0, 3);
    line.remove_prefix(3);
  }
  batch += format.head;
  if (bytes == RelayBytes::Raw) {
    batch += line;
  } else {
    append_escaped(batch, line, Backslashes::Kept, Tabs::Kept);
  }
  batch += '\n';
}

StdioRelay::StdioRelay(boost::asio::io_context& io, os::UniqueFd pipe, RelaySource source,
                       RelayBytes bytes, RelayScratch& scratch, OutputSink& sink,
                       std::function<void()> on_closed)
    : pipe_(io, pipe.release()),
      source_(source),
      bytes_(bytes),
      scratch_(scratch),
      sink_(sink),
      on_closed_(std::move(on_closed)) {
  // Only the read end, which is ours alone; the worker's end stays blocking.
  boost::system::error_code ignored;
  pipe_.non_blocking(true, ignored);
}

// The worker may have written before the pipe was registered with the reactor, whose events are
// edge-triggered: read first.
// The first read waits for the loop: the worker may have written already, and what the master
// logs about its start (workerStart) must come before the worker's own lines.
void StdioRelay::start() { wait_readable(); }

void StdioRelay::wait_readable() {
  pipe_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     if (ec == boost::asio::error::operation_aborted) return;
                     self->pump();
                   });
}

void StdioRelay::pump() {
  for (int reads = 0; reads < kReadsPerTurn; ++reads) {
    if (sink_.is_full()) {
      // Backpressure: leave the bytes in the pipe. Reading resumes from here, not from a
      // readiness event: the reactor is edge-triggered and a blocked worker writes no more.
      sink_.when_drained([self = shared_from_this()] { self->pump(); });
      return;
    }
    auto& buffer = scratch_.read;
    const ssize_t n = ::read(pipe_.native_handle(), buffer.data(), buffer.size());
    if (n > 0) {
      relay(std::string_view(buffer.data(), static_cast<std::size_t>(n)), false);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Everything is read: the next write of the worker is a new readiness event.
      wait_readable();
      return;
    }
    // End of file (every writer is gone) or a read error: either way this pipe is done.
    relay({}, true);
    close();
    return;
  }
  // A busy pipe: give the other handlers (and relays) their turn, then go on.
  boost::asio::post(pipe_.get_executor(), [self = shared_from_this()] { self->pump(); });
}

void StdioRelay::relay(std::string_view data, bool last) {
  std::string& batch = scratch_.batch;
  batch.clear();
  const log::Style style = log::style();
  const RelayLineFormat format = relay_line_format(
      style, style.format == log::Format::Plain ? log::SystemTime{} : std::chrono::system_clock::now(),
      source_);
  const auto add_line = [this, &batch, &format](std::string_view line) {
    append_relayed_line(batch, format, line, bytes_, scratch_.line);
  };
  splitter_.feed(data, add_line);
  if (last) splitter_.finish(add_line);
  if (!batch.empty()) sink_.write(batch);
}

void StdioRelay::close() {
  boost::system::error_code ignored;
  pipe_.close(ignored);
  if (on_closed_) on_closed_();
}

}  // namespace cservice::runtime
