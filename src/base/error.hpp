#pragma once
// Error and Result: how expected failures (bad input, the environment) travel. A broken
// invariant is not an Error: it is a CSERVICE_CHECK, which aborts.

#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <system_error>

namespace cservice {

struct Error {
  std::error_code code;  // from errno, or one of errc below
  std::string message;   // lowercase "what failed: why", naming the operand
};

template <class T>
using Result = boost::system::result<T, Error>;

// Our own error codes, for failures that have no errno.
enum class errc {
  bad_config = 1,
  bad_request,
  busy,
  not_found,
  timed_out,
  internal,  // our bug, reported to the caller rather than crashing
  failed,    // the operation ran and did not succeed (a rollout rolled back, a test failed)
};
const std::error_category& cservice_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// "context: strerror(err)" with code `err` in the generic category.
Error os_error(std::string_view context, int err);
// An Error with one of our codes.
Error make_error(errc code, std::string message);

}  // namespace cservice

template <>
struct std::is_error_code_enum<cservice::errc> : std::true_type {};

namespace cservice {
// Lets Result<T>::value() throw something meaningful if a caller skips the check (a bug);
// found by argument-dependent lookup.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);
}  // namespace cservice
