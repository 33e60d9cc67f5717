#pragma once
// StdioRelay copies one worker pipe (stdout or stderr) to the master's own stdout or stderr,
// line by line, each line prefixed with the worker's name. It reads until end of file, not
// until the worker is reaped, so a worker that writes and crashes at once loses nothing: the
// pipe keeps what was written after the writer is gone. Each batch of whole lines goes out in
// one write, so lines from different workers never interleave mid-line.

#include "os/unique_fd.hpp"
#include "runtime/line_splitter.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <functional>
#include <memory>
#include <string>

namespace cservice::runtime {

class StdioRelay : public std::enable_shared_from_this<StdioRelay> {
 public:
  // `out_fd` is borrowed (the master's 1 or 2). `on_closed` runs once, at end of file.
  StdioRelay(boost::asio::io_context& io, os::UniqueFd pipe, std::string prefix, int out_fd,
             std::function<void()> on_closed);
  void start();

 private:
  void read_more();
  void on_read(const boost::system::error_code& ec, std::size_t n);

  boost::asio::posix::stream_descriptor pipe_;
  std::string prefix_;
  int out_fd_;
  std::function<void()> on_closed_;
  LineSplitter splitter_;
  std::array<char, 64 * 1024> buffer_{};
  std::string batch_;
};

}  // namespace cservice::runtime
