#pragma once
// HelloFleetTest: a service of four hello_worker processes answering "v1 from pid N" on a shared
// listening port, with its REST API, for the tests that upgrade it under load (zero downtime,
// the upgrade pipeline). A "new build" is the same server at another path.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace cservice::testing {

class HelloFleetTest : public IntegrationTest {
 protected:
  static constexpr const char* kKey = "hello-fleet-key";

  ServiceProcess& start_service() {
    auto& service = start({"--workers", "4", "--listen", "127.0.0.1:0", "--access-key", kKey,
                           "--host", "127.0.0.1", "--port", "0", "--silent",
                           hello_worker_binary(), "--", "--body", "v1"});
    // A sanitizer build on a busy machine may take seconds to start: bounded, but generously.
    data_port_ = service.listen_port(std::chrono::seconds(30));
    api_port_ = service.api_port(std::chrono::seconds(30));
    EXPECT_TRUE(service.wait_for_count("starting -> ready", 4, std::chrono::seconds(10),
                                       "4 workers ready"));
    return service;
  }
  // POSTs the command line; nullopt when no answer came.
  std::optional<HttpAnswer> command(const std::string& line) {
    const std::string target = "/cli?cmd=" + url_encode(line);
    return http_request("POST", "127.0.0.1", api_port_, target, std::string("Bearer ") + kKey,
                        std::chrono::seconds(120));
  }
  // A "new build": the same server at another path (its answers say what --body says).
  std::string new_build() {
    const std::string path = temp_dir() + "/hello_v2";
    if (!std::filesystem::exists(path)) std::filesystem::copy_file(hello_worker_binary(), path);
    return path;
  }

  int data_port_ = -1;
  int api_port_ = -1;
};

}  // namespace cservice::testing
