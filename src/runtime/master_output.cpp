#include "runtime/master_output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <thread>

#include "base/log.hpp"
#include "os/safe_file.hpp"

namespace cservice::runtime {
namespace {

bool same_file(int a, int b) {
  struct stat first {};
  struct stat second {};
  return ::fstat(a, &first) == 0 && ::fstat(b, &second) == 0 && first.st_dev == second.st_dev &&
         first.st_ino == second.st_ino;
}

}  // namespace

MasterOutput::MasterOutput(boost::asio::io_context& io, OutputSink::Limits limits)
    : out_(OutputSink::open(io, STDOUT_FILENO, "stdout", limits)),
      own_err_(same_file(STDOUT_FILENO, STDERR_FILENO)
                   ? nullptr
                   : OutputSink::open(io, STDERR_FILENO, "stderr", limits)),
      err_(own_err_ ? own_err_.get() : out_.get()) {
  previous_log_sink_ = log::set_sink(
      [this, loop_thread = std::this_thread::get_id()](log::Level level, std::string_view message) {
        const std::string line = log::format_line(level, message);
        if (std::this_thread::get_id() == loop_thread) {
          err_->write_log(line);
        } else {
          (void)log::write_all(STDERR_FILENO, line);
        }
      });
}

MasterOutput::~MasterOutput() {
  // Lines logged from here on go the default way; the sinks' destructors try once more, without
  // waiting, to write what is still queued.
  log::set_sink(std::move(previous_log_sink_));
}

void MasterOutput::when_flushed(std::function<void()> done) {
  out_->when_flushed(
      [this, done = std::move(done)]() mutable { err_->when_flushed(std::move(done)); });
}

Result<void> MasterOutput::reopen(const std::string& path) {
  auto file = os::SafeFile::open("log file", path, O_WRONLY | O_APPEND, os::FileKinds::Any);
  if (!file) return file.error();
  // The sinks write to fds 1 and 2 by number (a regular file: Mode::Direct), so what they still
  // queue goes to the new file; a worker's relayed line is queued whole, never split between the
  // two. Workers write into pipes of ours, never into the file itself.
  if (::dup2(file->fd.get(), STDOUT_FILENO) < 0) return os_error("dup2 " + path, errno);
  if (::dup2(file->fd.get(), STDERR_FILENO) < 0) return os_error("dup2 " + path, errno);
  return {};
}

}  // namespace cservice::runtime
