#include "base/check.hpp"

#include <cstdio>
#include <cstdlib>

namespace cservice::detail {

void check_failed(const char* file, int line, const char* condition,
                  const char* message) noexcept {
  std::fprintf(stderr, "cservice: bug: %s:%d: check failed: %s: %s\n", file, line, condition,
               message);
  std::abort();
}

}  // namespace cservice::detail
