#pragma once
// OutputSink is one of the master's own outputs (stdout or stderr) as the loop sees it: a
// bounded queue of whole lines, written without ever blocking the loop, flushed whenever the
// output can take more. Loop thread only.
//
// Never blocking, without touching fd 1 or 2's flags: O_NONBLOCK lives on the open file
// description, which the master shares with its parent (a shell, a terminal, a log collector),
// so setting it there would break them. Instead, by what the fd is:
//   - a pipe, FIFO or terminal: the sink opens its own description of the same file through
//     /proc/self/fd/N, non-blocking, and writes there (Mode::Private);
//   - a socket (journald's stdout): send() with MSG_DONTWAIT (Mode::Socket);
//   - a regular file or block device: writes never wait for a reader (Mode::Direct);
//   - anything else, or when the reopen is refused (another user's pipe): a write is made
//     only once poll() says the fd is writable, and at most PIPE_BUF bytes (Mode::Guarded).
//
// Two kinds of writers, two policies when the output is not read:
//   - worker lines (write()) are never dropped: the caller must stop producing while
//     is_full() (the queue is at or above the high-water mark) and wait for when_drained(),
//     which fires once the queue has fallen below the low-water mark. Memory stays at most
//     the high-water mark plus what one caller adds after the last is_full() check.
//   - the master's own log lines (write_log()) cannot wait: past `log_cap` queued bytes they
//     are dropped and counted, and once the queue drains one line says how many were lost.
// Each call queues whole lines and bytes leave in order, so lines from different callers are
// never interleaved; a partial write leaves the rest of its line first in the queue.
//
// If the output fails for good (EPIPE: nobody will ever read it), the queue is discarded and
// so is everything written later, so that callers keep going; this is logged once.

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct iovec;

namespace cservice::runtime {

class OutputSink {
 public:
  enum class Mode { Private, Socket, Direct, Guarded };

  struct Limits {
    std::size_t high_water = 512 * 1024;  // worker writers pause at or above this
    std::size_t low_water = 128 * 1024;   // and resume below this
    std::size_t log_cap = 1024 * 1024;    // the master's own lines are dropped at or above this
  };

  // A sink writing to `fd`, which is borrowed (the master's 1 or 2) and must stay open while the
  // sink lives. `name` ("stdout") names it in messages. Never fails: an fd that cannot be
  // reopened is written in Mode::Guarded.
  static std::unique_ptr<OutputSink> open(boost::asio::io_context& io, int fd, std::string name,
                                          Limits limits);
  static std::unique_ptr<OutputSink> open(boost::asio::io_context& io, int fd, std::string name) {
    return open(io, fd, std::move(name), Limits{});
  }
  // Makes one last attempt to write what is queued, without waiting; the rest is lost.
  ~OutputSink();
  OutputSink(const OutputSink&) = delete;
  OutputSink& operator=(const OutputSink&) = delete;

  // Queues `lines` (whole lines, each ending in '\n') and writes what the output takes now.
  // Never drops them; the caller keeps the queue bounded by respecting is_full().
  void write(std::string_view lines);
  // The master's own log line (ending in '\n'): dropped, and counted, when `log_cap` bytes are
  // already queued.
  void write_log(std::string_view line);

  // True while worker writers must pause: the queue is at or above the high-water mark.
  bool is_full() const { return queued_ >= limits_.high_water; }
  // Runs `resume` once, posted to the loop, when the queue is below the low-water mark (soon,
  // if it already is) or the output has failed.
  void when_drained(std::function<void()> resume);
  // Runs `done` once, posted to the loop, when the queue is empty or the output has failed.
  void when_flushed(std::function<void()> done);
  bool is_flushed() const { return queued_ == 0; }

  std::size_t queued() const { return queued_; }
  Mode mode() const { return mode_; }
  // The master's log lines dropped since the last "dropped" notice was queued.
  std::size_t dropped_log_lines() const { return dropped_; }

 private:
  OutputSink(boost::asio::io_context& io, int fd, std::string name, Limits limits);
  void enqueue(std::string_view data);
  // Writes from the queue until it is empty or the output would block (then waits for it).
  void flush();
  // One write from the front of the queue, without blocking: bytes taken, or -1 with errno.
  long write_queued_once();
  long write_some(const iovec* buffers, int count);
  void wait_writable();
  void on_writable(const boost::system::error_code& ec);
  void on_error(int err, std::size_t lost);
  void notify_waiters();

  boost::asio::io_context& io_;
  int fd_;  // what is written to: the private description, or the borrowed fd
  std::string name_;
  Limits limits_;
  Mode mode_ = Mode::Direct;
  // What the loop waits on for writability: the private description itself (which it owns), or
  // an epoll instance watching the borrowed fd (asio's own wait would set O_NONBLOCK on the
  // shared description). None in Mode::Direct.
  std::unique_ptr<boost::asio::posix::stream_descriptor> waiter_;
  bool waiting_ = false;
  bool failed_ = false;  // for good: everything is discarded
  bool error_logged_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>();  // handlers check it: a wait cancelled
                                                          // by our destructor may still run

  std::deque<std::string> chunks_;  // whole lines, oldest first
  std::size_t front_offset_ = 0;    // bytes of chunks_.front() already written
  std::size_t queued_ = 0;          // bytes not yet written
  std::size_t dropped_ = 0;
  std::vector<std::function<void()>> drained_waiters_;
  std::vector<std::function<void()>> flushed_waiters_;
};

}  // namespace cservice::runtime
