#pragma once
// A minimal HTTP/1.1 client for tests (Boost.Beast), with a hard time-out.

#include <chrono>
#include <optional>
#include <string>

namespace cservice::testing {

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// GET http://host:port/target on a new connection. nullopt on any error or after `timeout`.
std::optional<HttpAnswer> http_get(const std::string& host, int port, const std::string& target = "/",
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace cservice::testing
