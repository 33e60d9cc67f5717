#include "runtime/stdio_relay.hpp"

#include "base/log.hpp"

namespace cservice::runtime {

StdioRelay::StdioRelay(boost::asio::io_context& io, os::UniqueFd pipe, std::string prefix,
                       int out_fd, std::function<void()> on_closed)
    : pipe_(io, pipe.release()),
      prefix_(std::move(prefix)),
      out_fd_(out_fd),
      on_closed_(std::move(on_closed)) {}

void StdioRelay::start() { read_more(); }

void StdioRelay::read_more() {
  pipe_.async_read_some(boost::asio::buffer(buffer_),
                        [self = shared_from_this()](const boost::system::error_code& ec,
                                                    std::size_t n) { self->on_read(ec, n); });
}

void StdioRelay::on_read(const boost::system::error_code& ec, std::size_t n) {
  const auto add_line = [this](std::string_view line) {
    batch_ += prefix_;
    batch_ += line;
    batch_ += '\n';
  };
  splitter_.feed(std::string_view(buffer_.data(), n), add_line);
  if (ec) splitter_.finish(add_line);
  if (!batch_.empty()) {
    (void)log::write_all(out_fd_, batch_);
    batch_.clear();
  }
  if (ec) {
    // EOF (every writer is gone) or a read error: either way this pipe is done.
    boost::system::error_code ignored;
    pipe_.close(ignored);
    if (on_closed_) on_closed_();
    return;
  }
  read_more();
}

}  // namespace cservice::runtime
