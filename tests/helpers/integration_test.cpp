#include "integration_test.hpp"

#include "os/proc.hpp"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace cservice::testing {
namespace {

std::vector<pid_t> live_children() {
  std::vector<pid_t> pids;
  for (const Pid pid : os::own_children()) pids.push_back(to_int(pid));
  return pids;
}

std::string command_of(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/cmdline");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  for (char& c : text) c = c == '\0' ? ' ' : c;
  return text;
}

}  // namespace

std::vector<pid_t> reap_children(std::chrono::milliseconds timeout, std::string* names) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    siginfo_t info{};
    while (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG) == 0 && info.si_pid != 0) {
      info = {};
    }
    std::vector<pid_t> left = live_children();
    if (left.empty()) return {};
    if (Clock::now() >= deadline) {
      for (const pid_t pid : left) {
        if (names != nullptr) *names += std::to_string(pid) + " (" + command_of(pid) + ") ";
        ::kill(pid, SIGKILL);
      }
      for (const pid_t pid : left) ::waitpid(pid, nullptr, 0);
      return left;
    }
    std::this_thread::sleep_for(5ms);
  }
}

void IntegrationTest::SetUp() {
  set_failure_reporter([](const std::string& message) { ADD_FAILURE() << message; });
  std::string pattern = (std::filesystem::temp_directory_path() / "cservice-test-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  temp_dir_ = pattern;
}

void IntegrationTest::TearDown() {
  std::string outputs;
  if (HasFailure()) {
    for (const auto& service : services_) outputs += service->output();
  }
  services_.clear();  // kills any master still running; its workers die with it
  std::string names;
  const std::vector<pid_t> leaked = reap_children(3s, &names);
  EXPECT_TRUE(leaked.empty()) << "processes outlived the test: " << names;
  if (!outputs.empty()) std::fprintf(stderr, "--- service output ---\n%s", outputs.c_str());
  std::error_code ignored;
  std::filesystem::remove_all(temp_dir_, ignored);
}

ServiceProcess& IntegrationTest::start(std::vector<std::string> args,
                                       std::map<std::string, std::string> env, std::string cwd,
                                       ServiceProcess::Stdin input, ServiceProcess::Output output) {
  services_.push_back(std::make_unique<ServiceProcess>(std::move(args), std::move(env),
                                                       std::move(cwd), input, output));
  return *services_.back();
}

ServiceProcess& IntegrationTest::start_program(const std::string& path,
                                               std::vector<std::string> args) {
  services_.push_back(std::make_unique<ServiceProcess>(Program{path}, std::move(args)));
  return *services_.back();
}

void IntegrationTest::stop_gracefully(ServiceProcess& service, const std::string& secret) {
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0) << service.output();
  if (!secret.empty()) {
    EXPECT_EQ(service.count(secret), 0u) << "the access key appeared in the output";
  }
}

std::string IntegrationTest::write_file(const std::string& name, const std::string& content,
                                        bool executable) {
  const std::string path = temp_dir_ + "/" + name;
  std::ofstream(path) << content;
  std::filesystem::permissions(path,
                               executable ? std::filesystem::perms::owner_all
                                          : std::filesystem::perms::owner_read |
                                                std::filesystem::perms::owner_write);
  return path;
}

}  // namespace cservice::testing
