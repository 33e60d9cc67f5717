#pragma once
// LineSplitter turns a byte stream into whole lines. A line longer than `max_line` is cut there
// (bounding the master's memory against a worker that never writes a newline). Pure logic.
// It holds memory only while a line is incomplete: an idle stream costs an empty string.

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace cservice::runtime {

class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line = 64 * 1024) : max_line_(max_line) {}

  // Feeds `data`; calls `on_line(std::string_view)` for each complete line, without its '\n'.
  template <class F>
  void feed(std::string_view data, F&& on_line) {
    while (!data.empty()) {
      const auto newline = data.find('\n');
      const std::string_view head = data.substr(0, newline);
      if (newline == std::string_view::npos) {
        const std::size_t room = max_line_ - partial_.size();
        partial_.append(head.substr(0, room));
        data.remove_prefix(std::min(room, head.size()));
        if (partial_.size() == max_line_) emit(on_line);
        continue;
      }
      if (partial_.empty()) {
        on_line(head);
      } else {
        partial_.append(head);
        emit(on_line);
      }
      data.remove_prefix(newline + 1);
    }
  }

  std::size_t capacity_for_test() const { return partial_.capacity(); }

  // At end of stream: the last line if it had no '\n'.
  template <class F>
  void finish(F&& on_line) {
    if (!partial_.empty()) emit(on_line);
  }

 private:
  template <class F>
  void emit(F& on_line) {
    on_line(std::string_view(partial_));
    // Give the buffer back: with a thousand workers, each idle one keeping a 64 KiB line's
    // capacity would be most of the master's memory.
    std::string().swap(partial_);
  }

  std::size_t max_line_;
  std::string partial_;
};

}  // namespace cservice::runtime
