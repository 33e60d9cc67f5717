// The REST API and remote mode against the real binary, over real HTTP.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>

#include <csignal>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cservice::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey = "test-key-7f3a";

class ControlTest : public IntegrationTest {
 protected:
  // A service with 2 ready workers and the API on a free loopback port.
  ServiceProcess& start_service(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--workers", "2", "--ready", "started", "--access-key", kKey,
                                     "--host", "127.0.0.1", "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(test_worker_binary());
    auto& service = start(args);
    port_ = service.api_port();
    EXPECT_TRUE(service.wait_for_count("starting -> ready", 2, 10s, "2 workers ready"));
    return service;
  }
  std::optional<HttpAnswer> post(const std::string& query, const std::string& authorization = {}) {
    return http_request("POST", "127.0.0.1", port_, "/cli?" + query, authorization);
  }
  void stop(ServiceProcess& service) { stop_gracefully(service, kKey); }

  int port_ = -1;
};

TEST_F(ControlTest, OriginalEndpointWorksVerbatim) {
  auto& service = start_service();
  const auto answer = post(std::string("cmd=help&accessKey=") + kKey);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  const json help = json::parse(answer->body);
  for (const char* command : {"help", "workers", "health", "info", "version"}) {
    EXPECT_TRUE(help["commands"].contains(command)) << command;
  }
  EXPECT_EQ(help["commands"]["help"]["access"], "local");
  stop(service);
}

TEST_F(ControlTest, KeyInBearerHeader) {
  auto& service = start_service();
  const auto answer = post("cmd=version", std::string("Bearer ") + kKey);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(json::parse(answer->body)["version"], "0.1.0");
  stop(service);
}

// Every local user can read a process's command line: the key given there is blanked once
// parsed; the workers' own arguments are left alone.
TEST_F(ControlTest, TheKeyIsHiddenFromOtherUsersInTheCommandLine) {
  auto& service = start({"--workers", "1", "--ready", "started", "--host", "127.0.0.1", "--port",
                         "0", std::string("--access-key=") + kKey, "/bin/sh", "--", "-c",
                         "sleep 1000; :", "-k", kKey});
  port_ = service.api_port();
  const auto worker = service.wait_for(R"(worker 1 pid (\d+): starting -> ready)", 10s,
                                       "the worker ready");
  ASSERT_TRUE(worker);
  const auto command_line = [](const std::string& pid) {
    std::ifstream file("/proc/" + pid + "/cmdline", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), {});
  };
  const std::string master = command_line(std::to_string(service.pid()));
  const std::string options = master.substr(0, master.find(std::string("\0--\0", 4)));
  EXPECT_EQ(options.find(kKey), std::string::npos) << options;
  EXPECT_NE(options.find("--access-key=*************"), std::string::npos) << options;
  EXPECT_EQ(post("cmd=version", std::string("Bearer ") + kKey)->status, 200) << "the key changed";
  EXPECT_NE(command_line((*worker)[1]).find(std::string("-k") + '\0' + kKey), std::string::npos)
      << "a worker's own arguments changed";
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(ControlTest, StatusCodes) {
  auto& service = start_service();
  const std::string key = std::string("accessKey=") + kKey;
  EXPECT_EQ(post("cmd=workers&accessKey=wrong")->status, 401u);
  EXPECT_EQ(post("cmd=workers")->status, 401u);
  EXPECT_EQ(post("cmd=nosuch&" + key)->status, 404u);
  EXPECT_EQ(http_request("POST", "127.0.0.1", port_, "/other?" + key)->status, 404u);
  EXPECT_EQ(http_request("GET", "127.0.0.1", port_, "/cli?cmd=workers&" + key)->status, 405u);
  EXPECT_EQ(post(key)->status, 404u) << "no command is a command not found, as the original";
  const auto malformed = post("cmd=restart%20all%20%7B%22timeout%22&" + key);
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400u);
  EXPECT_EQ(malformed->body, "bad command line at character 13: unclosed JSON value");
  EXPECT_EQ(post("cmd=workers%20sideways&" + key)->status, 400u);
  stop(service);
}

TEST_F(ControlTest, GetAllowedWhenConfigured) {
  auto& service = start_service({"--allow-http-get", "true"});
  const auto answer = http_request("GET", "127.0.0.1", port_,
                                   std::string("/cli?cmd=health&accessKey=") + kKey);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  stop(service);
}

TEST_F(ControlTest, WorkersAndHealthDescribeTheService) {
  auto& service = start_service();
  const std::string key = std::string("&accessKey=") + kKey;
  const json workers = json::parse(post("cmd=workers" + key)->body)["workers"];
  ASSERT_EQ(workers.size(), 2u);
  const auto pids = service.started_pids();
  EXPECT_EQ(workers[0]["pid"], pids.at(0));
  EXPECT_EQ(workers[1]["state"], "ready");
  EXPECT_EQ(workers[0]["restarts"], 0);
  EXPECT_GE(workers[0]["uptimeMs"].get<long>(), 0);
  const json details = json::parse(post("cmd=workers%20details" + key)->body)["workers"];
  EXPECT_GT(details[0]["rssBytes"].get<long>(), 0);
  EXPECT_TRUE(details[0].contains("cpuSeconds"));
  const json simple = json::parse(post("cmd=workers%20simple" + key)->body)["workers"];
  EXPECT_FALSE(simple[0].contains("restarts"));
  EXPECT_EQ(json::parse(post("cmd=health" + key)->body)["health"], "ok");
  const json info = json::parse(post("cmd=info" + key)->body);
  EXPECT_EQ(info["pid"], service.pid());
  EXPECT_EQ(info["workersByState"]["ready"], 2);
  stop(service);
}

TEST_F(ControlTest, HealthReportsACrashLoop) {
  auto& service = start({"--workers", "1", "--restarts-per-minute", "1", "--restart-delay-ms",
                         "10", "--access-key", kKey, "--host", "127.0.0.1", "--port", "0",
                         test_worker_binary(), "--", "--crash-after", "0"});
  port_ = service.api_port();
  ASSERT_GT(port_, 0);
  ASSERT_TRUE(service.wait_for("CRASH LOOP", 10s, "the crash loop"));
  const json health = json::parse(post(std::string("cmd=health&accessKey=") + kKey)->body);
  EXPECT_EQ(health["health"], "crash-loop");
  EXPECT_NE(health["reason"].get<std::string>().find("worker 1"), std::string::npos);
  stop(service);
}

TEST_F(ControlTest, LocalCommandRefusedToAPeerTreatedAsRemote) {
  auto& service = start_service({"--local-network", "none"});
  const std::string key = std::string("&accessKey=") + kKey;
  const auto help = post("cmd=help" + key);
  ASSERT_TRUE(help);
  EXPECT_EQ(help->status, 401u);
  EXPECT_EQ(help->body, "'help' needs local access; this caller is remote");
  EXPECT_EQ(post("cmd=workers" + key)->status, 200u);
  stop(service);
}

TEST_F(ControlTest, LevelsFromConfigAndPerKeyRights) {
  const std::string config = write_file(
      "service.json",
      json({{"program", test_worker_binary()},
            {"workerCount", 1},
            {"ready", "started"},
            {"host", "127.0.0.1"},
            {"port", 0},
            {"accessKey", json::array({"admin-key", {{"key", "reader-key"}, {"commands", {"health"}}}})},
            {"control", {{"info", "inproc"}, {"version", "disabled"}}}})
          .dump(),
      false);
  auto& service = start({config});
  port_ = service.api_port();
  ASSERT_GT(port_, 0);
  EXPECT_EQ(post("cmd=info&accessKey=admin-key")->status, 401u);      // inproc only
  EXPECT_EQ(post("cmd=version&accessKey=admin-key")->status, 401u);   // disabled
  EXPECT_EQ(post("cmd=workers&accessKey=admin-key")->status, 200u);
  EXPECT_EQ(post("cmd=health&accessKey=reader-key")->status, 200u);
  const auto refused = post("cmd=workers&accessKey=reader-key");
  EXPECT_EQ(refused->status, 401u);
  EXPECT_EQ(refused->body, "this key may not run 'workers'");
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait_exit(10s), 0);
  EXPECT_EQ(service.count("admin-key") + service.count("reader-key"), 0u);
}

TEST_F(ControlTest, MalformedAndOversizedRequestsCostNothing) {
  auto& service = start_service();
  // Raw garbage: a 400, and the service goes on.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port_));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string garbage = "NOT HTTP AT ALL\r\n\r\n";
  ASSERT_EQ(::write(fd, garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
  char reply[256] = {};
  const ssize_t n = ::read(fd, reply, sizeof reply - 1);
  ::close(fd);
  ASSERT_GT(n, 0);
  EXPECT_TRUE(std::string(reply).starts_with("HTTP/1.1 400")) << reply;
  // A target far over the header limit: 413.
  const auto huge = post("cmd=workers&pad=" + std::string(20000, 'x'));
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413u);
  EXPECT_EQ(post(std::string("cmd=health&accessKey=") + kKey)->status, 200u);
  stop(service);
}

TEST_F(ControlTest, RemoteModePrintsAnswersAndExitStatusFollowsSuccess) {
  auto& service = start_service();
  const std::string port = std::to_string(port_);
  auto& json_run = start({"workers", "--access-key", kKey, "--host", "127.0.0.1", "--port", port, "--json"});
  ASSERT_EQ(json_run.wait_exit(10s), 0) << json_run.output();
  const json parsed = json::parse(json_run.output());
  EXPECT_EQ(parsed["workers"].size(), 2u);

  auto& readable = start({"--run", "health", "--accessKey", kKey, "--host", "127.0.0.1", "--port", port});
  ASSERT_EQ(readable.wait_exit(10s), 0);
  EXPECT_TRUE(readable.wait_for(R"("health": "ok")", 1s, "the readable answer"));

  auto& refused = start({"workers", "--access-key", "wrong", "--host", "127.0.0.1", "--port", port});
  EXPECT_EQ(refused.wait_exit(10s), 1);
  EXPECT_TRUE(refused.wait_for("error: bad or missing access key \\(401\\)", 1s, "the refusal"));

  auto& nobody = start({"workers", "--access-key", kKey, "--host", "127.0.0.1", "--port", "1"});
  EXPECT_EQ(nobody.wait_exit(10s), 1);
  EXPECT_TRUE(nobody.wait_for("no service answers on 127.0.0.1:1", 1s, "the connection error"));
  stop(service);
}

}  // namespace
}  // namespace cservice::testing

namespace cservice::testing {
namespace {

TEST_F(ControlTest, ConsoleOnATerminalRunsCommandsInproc) {
  auto& service = start({"--workers", "1", "--ready", "started", "--access-key", kKey, "--host",
                         "127.0.0.1", "--port", "0", test_worker_binary()},
                        {}, {}, ServiceProcess::Stdin::Terminal);
  ASSERT_TRUE(service.wait_for("console: type a command", 10s, "the console"));
  ASSERT_TRUE(service.wait_for("starting -> ready", 10s, "the worker ready"));
  service.write_stdin("workers simple\n");
  ASSERT_TRUE(service.wait_for(R"("state": "ready")", 5s, "the console's answer"));
  service.write_stdin("restart all {\n");
  ASSERT_TRUE(service.wait_for("error: bad command line at character 13: unclosed JSON value", 5s,
                               "the console's error"));
  service.write_stdin("exit now\n");  // no key needed: the console runs at level inproc
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(ControlTest, SecondServeOnTheSamePortBecomesAConsoleForTheFirst) {
  auto& first = start_service();
  auto& second = start({"--workers", "3", "--access-key", kKey, "--host", "127.0.0.1", "--port",
                        std::to_string(port_), test_worker_binary()},
                       {}, {}, ServiceProcess::Stdin::Pipe);
  second.write_stdin("workers\n");
  second.close_stdin();
  EXPECT_EQ(second.wait_exit(10s), 0) << second.output();
  EXPECT_EQ(second.count("this is a console for it"), 1u);
  EXPECT_EQ(second.count(R"("pid": )" + std::to_string(first.started_pids().at(0))), 1u)
      << "the answer is not the first service's workers";
  EXPECT_EQ(second.count("workerStart"), 0u) << "the console started workers of its own";
  stop(first);
}

}  // namespace
}  // namespace cservice::testing

namespace cservice::testing {
namespace {

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST_F(ControlTest, SlowRequestTimesOutWithoutStallingOthers) {
  auto& service = start_service();
  const int slow = connect_loopback(port_);
  const std::string partial = "POST /cli?cmd=workers HTTP/1.1\r\nHost: x\r\n";
  ASSERT_EQ(::write(slow, partial.data(), partial.size()), static_cast<ssize_t>(partial.size()));
  // Meanwhile the API answers everyone else.
  const auto answer = post(std::string("cmd=health&accessKey=") + kKey);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  // The slow one is closed once its head's deadline (2 s) has passed: end of file, not our
  // own 15 s receive time-out.
  timeval bound{15, 0};
  ::setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  char byte = 0;
  EXPECT_EQ(::read(slow, &byte, 1), 0) << "the slow connection was not closed by the server";
  ::close(slow);
  stop(service);
}

}  // namespace
}  // namespace cservice::testing
