#include "os/journal.hpp"

#include <sys/stat.h>

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace cservice::os {
namespace {

template <class Number>
bool parse_number(std::string_view text, Number& number) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

bool is_journal_stream(int fd) {
  const char* value = std::getenv("JOURNAL_STREAM");
  if (value == nullptr) return false;
  const std::string_view text = value;
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  dev_t device = 0;
  ino_t inode = 0;
  if (!parse_number(text.substr(0, colon), device) || !parse_number(text.substr(colon + 1), inode)) {
    return false;
  }
  struct stat st {};
  return ::fstat(fd, &st) == 0 && st.st_dev == device && st.st_ino == inode;
}

}  // namespace cservice::os
