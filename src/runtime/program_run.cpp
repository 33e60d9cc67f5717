#include "runtime/program_run.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <csignal>

#include "base/log.hpp"
#include "os/spawn.hpp"

namespace cservice::runtime {

std::shared_ptr<ProgramRun> ProgramRun::start(boost::asio::io_context& io, const RunSpec& spec,
                                              Done done) {
  std::shared_ptr<ProgramRun> run(new ProgramRun(io, std::move(done), spec.capture));
  auto fail = [&](const Error& error) {
    run->result_.start_error = error.message;
    // Answered from the loop, never from inside start(): callers expect one path.
    boost::asio::post(io, [run] { run->finish_if_done(); });
    run->exited_ = true;
    return run;
  };
  // MergedTail: one pipe for both, so the output keeps the order it was written in.
  const std::size_t pipes = spec.capture == Capture::MergedTail ? 1 : 2;
  std::array<os::UniqueFd, 2> read_ends;
  std::array<os::UniqueFd, 2> write_ends;
  for (std::size_t i = 0; i < pipes; ++i) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(os_error("command output pipe", errno));
    read_ends[i].reset(fds[0]);
    write_ends[i].reset(fds[1]);
  }
  os::SpawnSpec process;
  process.program = spec.program;
  process.args = spec.args;
  process.env = spec.env;
  process.stdout_fd = write_ends[0].get();
  process.stderr_fd = write_ends[pipes - 1].get();
  process.pid_variables.push_back(std::string(kProgramPidVariable));
  auto child = os::spawn(process);
  if (!child) return fail(child.error());
  run->child_.emplace(std::move(*child));
  for (std::size_t i = 0; i < pipes; ++i) {
    write_ends[i].reset();  // only the program holds them now: EOF comes when it is gone
    run->pipes_[i].stream =
        std::make_unique<boost::asio::posix::stream_descriptor>(io, read_ends[i].release());
    run->pipes_[i].open = true;
    run->read(i);
  }
  if (spec.timeout) run->arm_timer(*spec.timeout);
  return run;
}

ProgramRun::ProgramRun(boost::asio::io_context& io, Done done, Capture capture)
    : done_(std::move(done)), capture_(capture), timer_(io) {}

void ProgramRun::read(std::size_t index) {
  Pipe& pipe = pipes_[index];
  pipe.stream->async_read_some(
      boost::asio::buffer(pipe.buffer),
      [self = shared_from_this(), index](const boost::system::error_code& ec, std::size_t n) {
        Pipe& p = self->pipes_[index];
        self->keep(index == 0 ? self->result_.out : self->result_.err, p.buffer.data(), n);
        if (ec || !p.open) {
          p.open = false;
          p.stream.reset();
          self->finish_if_done();
          return;
        }
        self->read(index);
      });
}

void ProgramRun::keep(std::string& text, const char* data, std::size_t n) {
  if (capture_ == Capture::Separate) {
    const std::size_t room = kMaxOutput - std::min(kMaxOutput, text.size());
    text.append(data, std::min(n, room));
    if (n > room) result_.truncated = true;
    return;
  }
  // The tail: drop from the front, in steps of at least kMaxOutput so the copying stays linear.
  text.append(data, n);
  if (text.size() >= 2 * kMaxOutput) {
    text.erase(0, text.size() - kMaxOutput);
    result_.truncated = true;
  }
}

void ProgramRun::arm_timer(Milliseconds after) {
  timer_armed_ = true;
  timer_.expires_after(after);
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (auto self = weak.lock(); self && !ec) self->on_timeout();
  });
}

void ProgramRun::on_timeout() {
  if (exited_) {
    // It exited a time-out ago and something it left still holds a pipe: answer without it.
    for (auto& pipe : pipes_) {
      if (pipe.stream) pipe.stream->close();
    }
    return;
  }
  result_.timed_out = true;
  if (child_) {
    if (auto sent = child_->signal_group(SIGKILL); !sent) log::warn("{}", sent.error().message);
  }
  // Bound the wait for the pipes once more, from the kill.
  arm_timer(std::chrono::seconds(1));
}

void ProgramRun::cancel() {
  if (exited_ || !child_) return;
  if (auto sent = child_->signal_group(SIGKILL); !sent) log::warn("{}", sent.error().message);
  // Bounds the wait for the pipes, as after a time-out.
  arm_timer(kDrainAfterExit);
}

void ProgramRun::on_exited(supervisor::ExitStatus status) {
  if (child_) child_->mark_reaped();
  child_.reset();
  exited_ = true;
  result_.status = status;
  // Without a time-out nothing bounds the wait for pipes that something it left still holds.
  if (!timer_armed_ && (pipes_[0].open || pipes_[1].open)) arm_timer(kDrainAfterExit);
  finish_if_done();
}

void ProgramRun::finish_if_done() {
  if (!exited_ || pipes_[0].open || pipes_[1].open || !done_) return;
  // The tail may have grown to twice the limit before it was cut: keep the limit's worth.
  std::string& out = result_.out;
  if (capture_ == Capture::MergedTail && out.size() > kMaxOutput) {
    out.erase(0, out.size() - kMaxOutput);
    result_.truncated = true;
  }
  timer_.cancel();
  auto done = std::move(done_);
  done_ = nullptr;
  done(std::move(result_));
}

}  // namespace cservice::runtime
