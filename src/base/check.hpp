#pragma once
// CSERVICE_CHECK guards our own invariants. It aborts with file and line in every build; it is
// never used for something the outside world can cause (that is an Error).

namespace cservice::detail {
[[noreturn]] void check_failed(const char* file, int line, const char* condition,
                               const char* message) noexcept;
}  // namespace cservice::detail

#define CSERVICE_CHECK(cond, msg)                                                \
  do {                                                                           \
    if (!(cond)) ::cservice::detail::check_failed(__FILE__, __LINE__, #cond, msg); \
  } while (false)
