#include "runtime/output_sink.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <climits>
#include <cstring>

#include "base/log.hpp"
#include "os/unique_fd.hpp"

namespace cservice::runtime {
namespace {

// Small writes are coalesced into chunks of about this size, so a queue of short lines is a
// few large strings rather than many small ones.
constexpr std::size_t kChunkBytes = 64 * 1024;
// Buffers handed to one writev().
constexpr int kMaxBuffers = 64;

bool is_permanent(int err) { return err == EPIPE || err == EBADF || err == ENXIO; }

}  // namespace

std::unique_ptr<OutputSink> OutputSink::open(boost::asio::io_context& io, int fd, std::string name,
                                             Limits limits) {
  std::unique_ptr<OutputSink> sink(new OutputSink(io, fd, std::move(name), limits));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    sink->on_error(errno, 0);  // not open: there is nowhere to write
    return sink;
  }
  if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
    sink->mode_ = Mode::Direct;  // a file takes every write without waiting for a reader
    return sink;
  }
  if (!S_ISSOCK(st.st_mode)) {
    // Our own open file description of the same pipe or terminal, so O_NONBLOCK is ours alone.
    // (A socket cannot be opened this way: ENXIO.) O_NOCTTY: a reopened terminal must not become
    // the master's controlling terminal.
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    os::UniqueFd own(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (own) {
      sink->mode_ = Mode::Private;
      sink->fd_ = own.get();
      sink->waiter_ = std::make_unique<boost::asio::posix::stream_descriptor>(io, own.release());
      return sink;
    }
  }
  // Wait through an epoll instance of our own: asio's wait on the fd itself would set
  // O_NONBLOCK on the shared description.
  os::UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) {
    log::warn("{}: epoll_create1: {}; writes to it may block", sink->name_, std::strerror(errno));
    sink->mode_ = Mode::Direct;
    return sink;
  }
  sink->mode_ = S_ISSOCK(st.st_mode) ? Mode::Socket : Mode::Guarded;
  sink->waiter_ = std::make_unique<boost::asio::posix::stream_descriptor>(io, epoll.release());
  return sink;
}

OutputSink::OutputSink(boost::asio::io_context& io, int fd, std::string name, Limits limits)
    : io_(io), fd_(fd), name_(std::move(name)), limits_(limits) {}

OutputSink::~OutputSink() {
  // One last chance for what is queued, without waiting: the loop has stopped.
  while (!failed_ && queued_ > 0 && write_queued_once() > 0) {
  }
}

void OutputSink::write(std::string_view lines) {
  if (failed_ || lines.empty()) return;
  if (queued_ == 0 && !waiting_) {
    // The common case: the output takes it at once and nothing is copied.
    iovec buffer{const_cast<char*>(lines.data()), lines.size()};
    long n;
    do {
      n = write_some(&buffer, 1);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      on_error(errno, lines.size());
      return;
    }
    if (n > 0) lines.remove_prefix(static_cast<std::size_t>(n));
    if (lines.empty()) return;
  }
  enqueue(lines);
  if (!waiting_) flush();
}

void OutputSink::write_log(std::string_view line) {
  if (failed_) return;
  if (queued_ >= limits_.log_cap) {
    ++dropped_;
    return;
  }
  write(line);
}

void OutputSink::when_drained(std::function<void()> resume) {
  drained_waiters_.push_back(std::move(resume));
  notify_waiters();
}

void OutputSink::when_flushed(std::function<void()> done) {
  flushed_waiters_.push_back(std::move(done));
  notify_waiters();
}

void OutputSink::enqueue(std::string_view data) {
  // Appending to the last chunk keeps lines whole and in order: chunks only ever hold what
  // callers gave whole, and front_offset_ is an index, valid across the append.
  if (!chunks_.empty() && chunks_.back().size() + data.size() <= kChunkBytes) {
    chunks_.back().append(data);
  } else {
    chunks_.emplace_back(data);
  }
  queued_ += data.size();
}

long OutputSink::write_queued_once() {
  std::array<iovec, kMaxBuffers> buffers{};
  int count = 0;
  std::size_t offset = front_offset_;
  for (auto it = chunks_.begin(); it != chunks_.end() && count < kMaxBuffers; ++it) {
    buffers[static_cast<std::size_t>(count++)] = {it->data() + offset, it->size() - offset};
    offset = 0;
  }
  long n;
  do {
    n = write_some(buffers.data(), count);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return n;
  auto left = static_cast<std::size_t>(n);
  queued_ -= left;
  while (left > 0) {
    const std::size_t in_front = chunks_.front().size() - front_offset_;
    if (left < in_front) {
      front_offset_ += left;
      break;
    }
    left -= in_front;
    chunks_.pop_front();
    front_offset_ = 0;
  }
  return n;
}

void OutputSink::flush() {
  while (!failed_ && queued_ > 0 && !waiting_) {
    const long n = write_queued_once();
    if (n > 0) {
      if (queued_ == 0 && dropped_ > 0) {
        // Said only once the output is read again, so the notice itself is not dropped.
        const std::string notice = log::format_line(
            log::Level::Warning, fmt::format("{} log lines dropped (output not read)", dropped_));
        dropped_ = 0;
        enqueue(notice);
      }
      continue;
    }
    if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_writable();
    } else {
      on_error(errno, queued_);
    }
  }
  notify_waiters();
}

long OutputSink::write_some(const iovec* buffers, int count) {
  switch (mode_) {
    case Mode::Private:
    case Mode::Direct:
      return ::writev(fd_, buffers, count);
    case Mode::Socket: {
      msghdr message{};
      message.msg_iov = const_cast<iovec*>(buffers);
      message.msg_iovlen = static_cast<std::size_t>(count);
      return ::sendmsg(fd_, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    case Mode::Guarded: {
      // A blocking description: write only what cannot block. A pipe that polls writable has a
      // free page, which takes any write of at most PIPE_BUF bytes whole.
      pollfd ready{fd_, POLLOUT, 0};
      if (::poll(&ready, 1, 0) < 0) return -1;
      if ((ready.revents & (POLLOUT | POLLERR | POLLHUP | POLLNVAL)) == 0) {
        errno = EAGAIN;
        return -1;
      }
      return ::write(fd_, buffers[0].iov_base, std::min<std::size_t>(buffers[0].iov_len, PIPE_BUF));
    }
  }
  return -1;
}

void OutputSink::wait_writable() {
  if (waiting_) return;
  if (!waiter_) {
    // Mode::Direct on something that said EAGAIN (only when epoll was unavailable): as before
    // this class existed, wait here, a little at a time.
    pollfd ready{fd_, POLLOUT, 0};
    (void)::poll(&ready, 1, 100);
    return;
  }
  if (mode_ == Mode::Socket || mode_ == Mode::Guarded) {
    // One-shot: the event is reported once, then re-armed by the next wait. MOD also reports an
    // fd that is already writable.
    epoll_event event{};
    event.events = EPOLLOUT | EPOLLONESHOT;
    const int epoll = waiter_->native_handle();
    if (::epoll_ctl(epoll, EPOLL_CTL_MOD, fd_, &event) != 0 &&
        ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd_, &event) != 0) {
      on_error(errno, queued_);
      return;
    }
  }
  waiting_ = true;
  const auto wait = mode_ == Mode::Private ? boost::asio::posix::stream_descriptor::wait_write
                                           : boost::asio::posix::stream_descriptor::wait_read;
  waiter_->async_wait(
      wait, [this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
        if (!alive.expired()) on_writable(ec);
      });
}

void OutputSink::on_writable(const boost::system::error_code& ec) {
  waiting_ = false;
  if (ec == boost::asio::error::operation_aborted) return;
  if (mode_ == Mode::Socket || mode_ == Mode::Guarded) {
    // Take the event off the epoll instance's ready list, or it would stay readable.
    epoll_event event{};
    (void)::epoll_wait(waiter_->native_handle(), &event, 1, 0);
  }
  flush();
}

void OutputSink::on_error(int err, std::size_t lost) {
  // What was queued cannot be written; a broken pipe or closed fd never will be again.
  chunks_.clear();
  front_offset_ = 0;
  queued_ = 0;
  const bool permanent = is_permanent(err);
  if (permanent) failed_ = true;
  if (!error_logged_) {
    error_logged_ = true;
    // failed_ is set first: the stderr sink logging its own failure discards the line.
    log::warn("{}: write failed: {}; {} bytes of output lost{}", name_, std::strerror(err), lost,
              permanent ? ", and all written from now on" : "");
  }
  notify_waiters();
}

void OutputSink::notify_waiters() {
  const auto post_all = [this](std::vector<std::function<void()>>& waiters) {
    for (auto& waiter : waiters) boost::asio::post(io_, std::move(waiter));
    waiters.clear();
  };
  if (failed_ || queued_ < limits_.low_water) post_all(drained_waiters_);
  if (failed_ || queued_ == 0) post_all(flushed_waiters_);
}

}  // namespace cservice::runtime
