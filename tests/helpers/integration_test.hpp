#pragma once
// IntegrationTest: the fixture of every integration test. It owns the services a test starts,
// gives each test its own temp directory, and at the end proves no process leaked: the test
// binary is a child subreaper (test_main.cpp), so any worker that outlived its master is our
// child; TearDown reaps them, and fails the test if one is still alive after a bound.

#include "service_process.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace cservice::testing {

class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  ServiceProcess& start(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                        std::string cwd = {},
                        ServiceProcess::Stdin input = ServiceProcess::Stdin::Null,
                        ServiceProcess::Output output = ServiceProcess::Output::Read);
  // Starts a library-mode program (it is the master) with `args`.
  ServiceProcess& start_program(const std::string& path, std::vector<std::string> args);
  const std::string& temp_dir() const { return temp_dir_; }
  // Sends SIGTERM and expects exit status 0 within 10 s; with `secret`, also that it never
  // appeared in the service's output.
  static void stop_gracefully(ServiceProcess& service, const std::string& secret = {});
  std::string write_file(const std::string& name, const std::string& content, bool executable);

 private:
  std::vector<std::unique_ptr<ServiceProcess>> services_;
  std::string temp_dir_;
};

// Reaps every exited child; after `timeout`, kills the ones left and returns their pids (and
// appends "pid (command line)" of each to `names`).
std::vector<pid_t> reap_children(std::chrono::milliseconds timeout, std::string* names = nullptr);

}  // namespace cservice::testing
