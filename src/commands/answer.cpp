#include "commands/answer.hpp"

namespace cservice::commands {

int status_of(const Error& error) {
  if (error.code == make_error_code(errc::not_found)) return 404;
  if (error.code == make_error_code(errc::busy)) return 409;
  if (error.code == make_error_code(errc::internal) || error.code == make_error_code(errc::failed)) {
    return 500;
  }
  if (error.code == make_error_code(errc::timed_out)) return 504;
  // A bad request or argument, a program that cannot start: the caller's to fix.
  return 400;
}

errc code_of_status(int status) {
  switch (status) {
    case 400: return errc::bad_request;
    case 404: return errc::not_found;
    case 409: return errc::busy;
    case 504: return errc::timed_out;
    default: return errc::failed;
  }
}

Answer failure(int status, std::string error) {
  while (!error.empty() && (error.back() == '\n' || error.back() == '\r' ||
                            error.back() == ' ' || error.back() == '\t')) {
    error.pop_back();
  }
  if (error.empty()) error = "failed (no error text)";
  return {status, nullptr, std::move(error)};
}

Answer answer_of(Result<nlohmann::json> result, Success success) {
  if (result) return {success == Success::Accepted ? 202 : 200, std::move(*result), {}};
  return failure(status_of(result.error()), std::move(result.error().message));
}

nlohmann::json to_json(const Answer& answer) {
  if (answer.ok()) return {{"status", answer.status}, {"result", answer.result}};
  return {{"status", answer.status}, {"error", answer.error}};
}

Answer answer_from_json(const nlohmann::json& value) {
  if (!value.is_object() || !value.contains("status") || !value["status"].is_number_integer()) {
    return failure(500, "malformed answer: no status");
  }
  const int status = value["status"].get<int>();
  if (status >= 200 && status < 300) return {status, value.value("result", nlohmann::json()), {}};
  const auto error = value.find("error");
  return failure(status, error != value.end() && error->is_string() ? error->get<std::string>()
                                                                     : "no error text");
}

}  // namespace cservice::commands
