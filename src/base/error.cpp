#include "base/error.hpp"

#include <cstring>
#include <stdexcept>

namespace cservice {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "cservice"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::bad_config: return "bad configuration";
      case errc::bad_request: return "bad request";
      case errc::busy: return "busy";
      case errc::not_found: return "not found";
      case errc::timed_out: return "timed out";
      case errc::internal: return "internal error";
      case errc::failed: return "failed";
    }
    return "unknown error";
  }
};

}  // namespace

const std::error_category& cservice_category() noexcept {
  static const Category category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), cservice_category()};
}

Error os_error(std::string_view context, int err) {
  std::string message(context);
  message += ": ";
  message += std::strerror(err);
  return Error{std::error_code(err, std::generic_category()), std::move(message)};
}

Error make_error(errc code, std::string message) {
  return Error{make_error_code(code), std::move(message)};
}

}  // namespace cservice

namespace cservice {
void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}
}  // namespace cservice
