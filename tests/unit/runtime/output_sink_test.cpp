#include "runtime/output_sink.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "os/unique_fd.hpp"
#include "runtime/stdio_relay.hpp"

namespace cservice::runtime {
namespace {

using namespace std::chrono_literals;

struct Pipe {
  os::UniqueFd read;
  os::UniqueFd write;
};

// A pipe that holds one page, so it is full after 4 KiB.
Pipe small_pipe() {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Pipe pipe{os::UniqueFd(fds[0]), os::UniqueFd(fds[1])};
  ::fcntl(pipe.write.get(), F_SETPIPE_SZ, 4096);
  return pipe;
}

bool is_non_blocking(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

// Everything the pipe holds now.
std::string read_available(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  std::string data;
  char buffer[65536];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) {
    data.append(buffer, static_cast<std::size_t>(n));
  }
  ::fcntl(fd, F_SETFL, flags);
  return data;
}

std::string numbered_line(int i) { return "line " + std::to_string(i) + "\n"; }

std::string numbered_lines(int from, int count) {
  std::string lines;
  for (int i = from; i < from + count; ++i) lines += numbered_line(i);
  return lines;
}

constexpr RelaySource kSource{1, 2, Stream::Stdout};

constexpr OutputSink::Limits kSmall{
    .high_water = 64 * 1024, .low_water = 16 * 1024, .log_cap = 128 * 1024};

class OutputSinkTest : public ::testing::Test {
 protected:
  OutputSinkTest() {
    previous_sigpipe_ = ::signal(SIGPIPE, SIG_IGN);  // as the master does
    log::set_sink([this](log::Level, std::string_view line) { log_.emplace_back(line); });
  }
  ~OutputSinkTest() override {
    log::reset_sink();
    ::signal(SIGPIPE, previous_sigpipe_);
  }

  // Reads `pipe` and runs the loop until `done` holds; everything read is appended to `out`.
  template <class Predicate>
  bool drain_until(const Pipe& pipe, std::string& out, Predicate done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      out += read_available(pipe.read.get());
      io_.run_for(2ms);
      io_.restart();
    }
    out += read_available(pipe.read.get());
    return true;
  }

  // Reads `pipe` until `sink` has written out everything it had queued (appended to `out`).
  bool drain_flushed(const Pipe& pipe, OutputSink& sink, std::string& out) {
    bool flushed = false;
    sink.when_flushed([&] { flushed = true; });
    return drain_until(pipe, out, [&] { return flushed; });
  }

  boost::asio::io_context io_;
  std::vector<std::string> log_;
  void (*previous_sigpipe_)(int) = SIG_DFL;
};

TEST_F(OutputSinkTest, WritingToAPipeNobodyReadsNeverBlocks) {
  const Pipe pipe = small_pipe();
  auto sink = OutputSink::open(io_, pipe.write.get(), "stdout", kSmall);
  EXPECT_EQ(sink->mode(), OutputSink::Mode::Private);
  // Ten times the pipe's room and more than the high-water mark: each call returns at once (a
  // blocking write would hang the test here), and what the pipe cannot take is queued.
  for (int i = 0; i < 10'000; ++i) sink->write(numbered_line(i));
  EXPECT_GT(sink->queued(), 64u * 1024);
  EXPECT_TRUE(sink->is_full());
  // The fd it was given keeps its flags: O_NONBLOCK is on a description of the sink's own.
  EXPECT_FALSE(is_non_blocking(pipe.write.get()));
}

TEST_F(OutputSinkTest, AWriterThatPausesWhenFullKeepsTheQueueBounded) {
  const Pipe pipe = small_pipe();
  auto sink = OutputSink::open(io_, pipe.write.get(), "stdout", kSmall);
  const std::string batch = numbered_lines(0, 1000);  // about 9 KiB of whole lines
  int batches = 0;
  while (!sink->is_full() && batches < 1000) {
    sink->write(batch);
    ++batches;
  }
  ASSERT_TRUE(sink->is_full());
  EXPECT_LE(sink->queued(), kSmall.high_water + batch.size());
}

TEST_F(OutputSinkTest, ResumesPausedWritersOnceDrainedBelowTheLowMark) {
  const Pipe pipe = small_pipe();
  auto sink = OutputSink::open(io_, pipe.write.get(), "stdout", kSmall);
  int next = 0;
  while (!sink->is_full()) sink->write(numbered_line(next++));
  bool resumed = false;
  sink->when_drained([&] { resumed = true; });
  io_.run_for(20ms);  // nobody reads: nothing drains, nobody is resumed
  io_.restart();
  EXPECT_FALSE(resumed);

  std::string out;
  ASSERT_TRUE(drain_until(pipe, out, [&] { return resumed; })) << "never resumed";
  EXPECT_LT(sink->queued(), kSmall.low_water);
  ASSERT_TRUE(drain_flushed(pipe, *sink, out)) << "never flushed";
  EXPECT_EQ(out, numbered_lines(0, next));
}

TEST_F(OutputSinkTest, KeepsOrderAndWholeLinesAcrossPartialWrites) {
  const Pipe pipe = small_pipe();
  auto sink = OutputSink::open(io_, pipe.write.get(), "stdout", kSmall);
  // Batches of odd sizes, so pipe-sized writes end mid-line; read a little at a time.
  std::string expected;
  int next = 0;
  for (int round = 0; round < 50; ++round) {
    const std::string batch = numbered_lines(next, 1 + round * 7);
    next += 1 + round * 7;
    expected += batch;
    sink->write(batch);
  }
  std::string out;
  ASSERT_TRUE(drain_flushed(pipe, *sink, out));
  EXPECT_EQ(out, expected);
}

TEST_F(OutputSinkTest, DropsTheMastersLinesPastTheCapAndSaysHowManyOnceDrained) {
  const Pipe pipe = small_pipe();
  auto sink = OutputSink::open(io_, pipe.write.get(), "stderr", kSmall);
  int kept = 0;
  while (sink->queued() < kSmall.log_cap) {
    sink->write_log("cservice: kept " + std::to_string(kept++) + "\n");
  }
  for (int i = 0; i < 25; ++i) sink->write_log("cservice: lost\n");
  EXPECT_EQ(sink->dropped_log_lines(), 25u);
  EXPECT_LE(sink->queued(), kSmall.log_cap + 64);

  std::string out;
  ASSERT_TRUE(drain_flushed(pipe, *sink, out));
  EXPECT_EQ(out.find("cservice: lost"), std::string::npos);
  const std::string notice = "cservice: warning: 25 log lines dropped (output not read)\n";
  ASSERT_GE(out.size(), notice.size());
  EXPECT_EQ(out.substr(out.size() - notice.size()), notice);  // after every kept line
  EXPECT_NE(out.find("cservice: kept " + std::to_string(kept - 1) + "\n"), std::string::npos);
}

TEST_F(OutputSinkTest, WorkerLinesAreNeverDroppedEvenPastTheLogCap) {
  const Pipe pipe = small_pipe();
  auto sink = OutputSink::open(io_, pipe.write.get(), "stdout", kSmall);
  const std::string lines = numbered_lines(0, 20'000);  // well past log_cap at once
  sink->write(lines);
  std::string out;
  ASSERT_TRUE(drain_flushed(pipe, *sink, out));
  EXPECT_EQ(out, lines);
}

TEST_F(OutputSinkTest, ASocketIsWrittenWithoutBlockingAndKeepsItsFlags) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  Pipe pair{os::UniqueFd(fds[0]), os::UniqueFd(fds[1])};
  auto sink = OutputSink::open(io_, pair.write.get(), "stdout", kSmall);
  EXPECT_EQ(sink->mode(), OutputSink::Mode::Socket);
  std::string expected;
  for (int i = 0; !sink->is_full(); ++i) {
    sink->write(numbered_line(i));
    expected += numbered_line(i);
  }
  EXPECT_FALSE(is_non_blocking(pair.write.get()));
  std::string out;
  ASSERT_TRUE(drain_flushed(pair, *sink, out));
  EXPECT_EQ(out, expected);
}

TEST_F(OutputSinkTest, ARegularFileIsWrittenAtOnce) {
  char path[] = "/tmp/cservice-sink-XXXXXX";
  os::UniqueFd file(::mkstemp(path));
  ASSERT_TRUE(file);
  ::unlink(path);
  auto sink = OutputSink::open(io_, file.get(), "stdout", kSmall);
  EXPECT_EQ(sink->mode(), OutputSink::Mode::Direct);
  const std::string lines = numbered_lines(0, 50'000);
  sink->write(lines);
  EXPECT_EQ(sink->queued(), 0u);
  EXPECT_EQ(::lseek(file.get(), 0, SEEK_END), static_cast<off_t>(lines.size()));
}

TEST_F(OutputSinkTest, AClosedReaderDiscardsOutputAndReleasesWaiters) {
  Pipe pipe = small_pipe();
  auto sink = OutputSink::open(io_, pipe.write.get(), "stdout", kSmall);
  while (!sink->is_full()) sink->write(numbered_line(1));
  bool resumed = false;
  sink->when_drained([&] { resumed = true; });
  pipe.read.reset();  // nobody will ever read it
  io_.run_for(100ms);
  EXPECT_TRUE(resumed);
  EXPECT_EQ(sink->queued(), 0u);
  sink->write(numbered_line(2));  // discarded, without blocking or queueing
  EXPECT_EQ(sink->queued(), 0u);
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_NE(log_[0].find("stdout: write failed: Broken pipe"), std::string::npos) << log_[0];
}

TEST_F(OutputSinkTest, ARelayStopsReadingItsPipeWhileTheSinkIsFull) {
  const Pipe out = small_pipe();  // the master's stdout, not read yet
  auto sink = OutputSink::open(io_, out.write.get(), "stdout", kSmall);
  const Pipe worker = small_pipe();
  ::fcntl(worker.write.get(), F_SETFL, O_NONBLOCK);  // the test must not block as a worker would
  RelayScratch scratch;
  bool closed = false;
  auto relay = std::make_shared<StdioRelay>(io_, os::UniqueFd(::dup(worker.read.get())),
                                            kSource, RelayBytes::Escaped, scratch, *sink,
                                            [&] { closed = true; });
  relay->start();

  // The worker writes until its pipe is full and stays full: the relay has stopped reading.
  int next = 0;
  std::string pending;
  int stuck_rounds = 0;
  while (stuck_rounds < 20 && next < 1'000'000) {
    if (pending.empty()) pending = numbered_line(next++);
    const ssize_t n = ::write(worker.write.get(), pending.data(), pending.size());
    if (n > 0) {
      pending.erase(0, static_cast<std::size_t>(n));
      stuck_rounds = 0;
    } else {
      ++stuck_rounds;
      io_.run_for(1ms);
      io_.restart();
    }
  }
  ASSERT_EQ(stuck_rounds, 20) << "the relay kept reading while its sink was full";
  EXPECT_TRUE(sink->is_full());
  EXPECT_LE(sink->queued(), kSmall.high_water + 3 * RelayScratch::kReadSize);

  // Reading the master's output lets the worker go on; every line arrives, in order.
  for (int i = 0; i < 5000; ++i) {
    pending += numbered_line(next++);
  }
  std::string got;
  ASSERT_TRUE(drain_until(out, got, [&] {
    if (!pending.empty()) {
      const ssize_t n = ::write(worker.write.get(), pending.data(), pending.size());
      if (n > 0) pending.erase(0, static_cast<std::size_t>(n));
      return false;
    }
    return sink->is_flushed() && got.size() > 0 && got.back() == '\n' &&
           got.ends_with("worker 1[2]: " + numbered_line(next - 1));
  }));
  std::string expected;
  for (int i = 0; i < next; ++i) expected += "worker 1[2]: " + numbered_line(i);
  EXPECT_EQ(got, expected);
  EXPECT_FALSE(closed);
}

// What a relay makes of `bytes` written by a worker that then closes its pipe.
std::string relayed(boost::asio::io_context& io, RelayBytes mode, std::string_view bytes) {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  os::UniqueFd worker_read(fds[0]);
  os::UniqueFd worker_write(fds[1]);
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  const os::UniqueFd out_read(fds[0]);
  const os::UniqueFd out_write(fds[1]);
  auto sink = OutputSink::open(io, out_write.get(), "stdout", kSmall);
  RelayScratch scratch;
  bool closed = false;
  auto relay = std::make_shared<StdioRelay>(io, std::move(worker_read), kSource, mode, scratch, *sink,
                                            [&] { closed = true; });
  relay->start();
  relay.reset();
  EXPECT_EQ(::write(worker_write.get(), bytes.data(), bytes.size()),
            static_cast<ssize_t>(bytes.size()));
  worker_write.reset();
  for (int i = 0; i < 500 && !closed; ++i) {
    io.run_for(10ms);
    io.restart();
  }
  EXPECT_TRUE(closed);
  return read_available(out_read.get());
}

TEST_F(OutputSinkTest, ARelayEscapesControlCharactersAndBadBytesOnEachLine) {
  using namespace std::string_literals;
  const std::string hostile =
      "out \x1b[31mred\r\xff\xfe \xe2\x80\xae line\0end\ncrlf\r\n\tat a\\b \xc3\xa9\nlast\x07"s;
  EXPECT_EQ(relayed(io_, RelayBytes::Escaped, hostile),
            "worker 1[2]: out \\x1b[31mred\\r\\xff\\xfe \\u202e line\\0end\n"
            "worker 1[2]: crlf\n"
            "worker 1[2]: \tat a\\b \xc3\xa9\n"
            "worker 1[2]: last\\x07\n");
  EXPECT_EQ(relayed(io_, RelayBytes::Raw, hostile),
            "worker 1[2]: out \x1b[31mred\r\xff\xfe \xe2\x80\xae line\0end\n"
            "worker 1[2]: crlf\r\n"
            "worker 1[2]: \tat a\\b \xc3\xa9\n"
            "worker 1[2]: last\x07\n"s);
}

}  // namespace
}  // namespace cservice::runtime
