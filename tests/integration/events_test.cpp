// GET /events (Server-Sent Events) and `cservice events`, against the real binary.

#include "http_client.hpp"
#include "integration_test.hpp"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <csignal>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cservice::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey = "events-key-51c9";

// A follower of GET /events over a plain socket: sends the request, then reads the chunked
// answer as it comes and splits it into events (id, name, the data as JSON).
class SseClient {
 public:
  struct Event {
    std::string id;
    std::string name;
    json data;
  };

  SseClient(int port, const std::string& headers) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return;
    const std::string request = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + "\r\n";
    connected_ = ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) ==
                 static_cast<ssize_t>(request.size());
  }
  ~SseClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // The status of the answer (0 if none came within `timeout`).
  int status(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    while (raw_.find("\r\n\r\n") == std::string::npos && read_some(deadline)) {
    }
    if (raw_.size() < 12 || !raw_.starts_with("HTTP/1.1 ")) return 0;
    return std::stoi(raw_.substr(9, 3));
  }
  const std::string& head() const { return head_; }

  // The next event that satisfies `wanted` (earlier ones are kept in seen()); nullopt after
  // `timeout` or at the end of the stream.
  template <class Wanted>
  std::optional<Event> next(Wanted wanted, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    if (status(timeout) != 200) return std::nullopt;
    for (;;) {
      while (cursor_ < events_.size()) {
        const Event& event = events_[cursor_++];
        if (wanted(event)) return event;
      }
      if (!read_some(deadline)) return std::nullopt;
    }
  }
  std::optional<Event> next_named(const std::string& name, std::chrono::milliseconds t = 10s) {
    return next([&name](const Event& e) { return e.name == name; }, t);
  }
  // Reads until the server ends the stream; true if it did so with the last chunk.
  bool ended_cleanly(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!closed_ && read_some(deadline)) {
    }
    return closed_ && last_chunk_;
  }
  const std::string& body() const { return body_; }  // the de-chunked body so far

 private:
  // Reads what comes before `deadline`; false at the deadline or end of stream.
  bool read_some(Clock::time_point deadline) {
    if (!connected_ || closed_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[16384];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    raw_.append(buffer, static_cast<std::size_t>(n));
    parse();
    return true;
  }
  void parse() {
    if (body_start_ == 0) {
      const auto end = raw_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      head_ = raw_.substr(0, end + 4);
      body_start_ = chunk_at_ = end + 4;
    }
    if (head_.find("chunked") == std::string::npos) return;  // a refusal: no events
    // De-chunk what is complete.
    for (;;) {
      const auto line_end = raw_.find("\r\n", chunk_at_);
      if (line_end == std::string::npos) break;
      const std::size_t size = std::stoul(raw_.substr(chunk_at_, line_end - chunk_at_), nullptr, 16);
      if (raw_.size() < line_end + 2 + size + 2) break;
      if (size == 0) last_chunk_ = true;
      body_.append(raw_, line_end + 2, size);
      chunk_at_ = line_end + 2 + size + 2;
    }
    // Split the body into blocks.
    for (auto end = body_.find("\n\n", parsed_); end != std::string::npos;
         end = body_.find("\n\n", parsed_)) {
      const std::string block = body_.substr(parsed_, end - parsed_);
      parsed_ = end + 2;
      Event event;
      std::string data;
      std::size_t from = 0;
      while (from <= block.size()) {
        auto to = block.find('\n', from);
        if (to == std::string::npos) to = block.size();
        const std::string line = block.substr(from, to - from);
        from = to + 1;
        if (line.starts_with("id: ")) event.id = line.substr(4);
        if (line.starts_with("event: ")) event.name = line.substr(7);
        if (line.starts_with("data: ")) data = line.substr(6);
      }
      if (data.empty()) continue;  // a comment: a heartbeat
      event.data = json::parse(data, nullptr, false);
      events_.push_back(std::move(event));
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  bool last_chunk_ = false;
  std::string raw_;
  std::string head_;
  std::size_t body_start_ = 0;
  std::size_t chunk_at_ = 0;
  std::string body_;
  std::size_t parsed_ = 0;
  std::vector<Event> events_;
  std::size_t cursor_ = 0;
};

std::string bearer() { return std::string("Authorization: Bearer ") + kKey + "\r\n"; }

class EventsTest : public IntegrationTest {
 protected:
  ServiceProcess& start_service(int workers = 2) {
    auto& service = start({"--workers", std::to_string(workers), "--ready", "started",
                           "--access-key", kKey, "--host", "127.0.0.1", "--port", "0",
                           test_worker_binary()});
    port_ = service.api_port();
    EXPECT_TRUE(service.wait_for_count("starting -> ready", static_cast<std::size_t>(workers), 10s,
                                       "the workers ready"));
    return service;
  }
  int port_ = -1;
};

TEST_F(EventsTest, AKilledWorkersExitAndItsReplacementAreStreamed) {
  auto& service = start_service();
  SseClient follower(port_, bearer());
  ASSERT_EQ(follower.status(), 200);
  EXPECT_NE(follower.head().find("Content-Type: text/event-stream"), std::string::npos)
      << follower.head();
  const auto workers = json::parse(run_command(port_, kKey, "workers").body);
  const int pid = workers["workers"][0]["pid"].get<int>();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);

  const auto exit = follower.next([pid](const SseClient::Event& e) {
    return e.name == "workerExit" && e.data["data"]["pid"] == pid;
  });
  ASSERT_TRUE(exit) << follower.body();
  EXPECT_EQ(exit->data["data"]["reason"], "failure");
  EXPECT_EQ(exit->data["name"], "workerExit");
  EXPECT_EQ(exit->data["id"], std::stoll(exit->id));
  EXPECT_TRUE(std::regex_match(exit->data["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << exit->data.dump();
  const int slot = exit->data["data"]["worker"].get<int>();
  const auto replacement = follower.next([slot](const SseClient::Event& e) {
    return e.name == "workerStart" && e.data["data"]["worker"] == slot;
  });
  ASSERT_TRUE(replacement) << follower.body();
  EXPECT_EQ(replacement->data["data"]["reason"], "restart");
  const int new_pid = replacement->data["data"]["pid"].get<int>();
  EXPECT_NE(new_pid, pid);
  const auto ready = follower.next([new_pid](const SseClient::Event& e) {
    return e.name == "workerReady" && e.data["data"]["pid"] == new_pid;
  });
  ASSERT_TRUE(ready) << follower.body();
  stop_gracefully(service, kKey);
}

// A worker that raises an event of its own through its channel (no command, no subscriber of
// that name in the master): the followers get it, with its arguments.
TEST_F(EventsTest, ACustomEventAWorkerRaisesIsStreamed) {
  const std::string script = write_file("raise.py", R"(#!/usr/bin/env python3
import json, os, signal, socket, sys
# Blocked before saying so: a SIGUSR1 sent at once waits for sigwait rather than being lost.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM})
print("waiting for SIGUSR1", flush=True)
signal.sigwait([signal.SIGUSR1])
address = os.environ["CSERVICE_CONTROL_SOCKET"].replace("@", "\0", 1)
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
    s.connect(address)
    s.sendall(json.dumps({"name": "jobDone", "args": ["job-17", 42]}).encode() + b"\n")
    print("answer:", s.makefile().readline().strip(), flush=True)
signal.sigwait([signal.SIGTERM])
)",
                                        true);
  auto& service = start({"--workers", "1", "--access-key", kKey, "--host", "127.0.0.1", "--port",
                         "0", script});
  port_ = service.api_port();
  ASSERT_TRUE(service.wait_for("waiting for SIGUSR1", 10s, "the worker up"));
  SseClient follower(port_, bearer());
  ASSERT_EQ(follower.status(), 200);
  const auto workers = json::parse(run_command(port_, kKey, "workers").body);
  ASSERT_EQ(::kill(workers["workers"][0]["pid"].get<int>(), SIGUSR1), 0);
  const auto raised = follower.next([](const SseClient::Event& e) { return e.name == "jobDone"; });
  ASSERT_TRUE(raised) << follower.body() << service.output();
  EXPECT_EQ(raised->data["data"], json::array({"job-17", 42}));
  // Nothing in the master subscribes to that name: the worker is told so (a misspelt command
  // must not pass for an event), but the event went out.
  EXPECT_TRUE(service.wait_for(R"(answer: .*"status": ?404)", 10s, "the worker's answer"));
  stop_gracefully(service, kKey);
}

TEST_F(EventsTest, LastEventIdResumesRightAfterIt) {
  auto& service = start_service();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(run_command(port_, kKey, "version").status, 200);
  SseClient everything(port_, bearer() + "Last-Event-ID: 0\r\n");
  std::vector<std::string> ids;
  while (ids.size() < 5) {
    const auto event = everything.next([](const SseClient::Event&) { return true; });
    ASSERT_TRUE(event) << everything.body();
    ids.push_back(event->id);
  }
  EXPECT_EQ(ids.front(), "1");
  SseClient resumed(port_, bearer() + "Last-Event-ID: " + ids[2] + "\r\n");
  const auto first = resumed.next([](const SseClient::Event&) { return true; });
  ASSERT_TRUE(first) << resumed.body();
  EXPECT_EQ(first->id, ids[3]);
  // A resume point that is not an id is refused.
  const auto answer = http_request("GET", "127.0.0.1", port_, "/events?lastEventId=abc",
                                   std::string("Bearer ") + kKey);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 400);
  // An id this master never gave: a missed event first.
  SseClient unknown(port_, bearer() + "Last-Event-ID: 999999\r\n");
  const auto missed = unknown.next([](const SseClient::Event&) { return true; });
  ASSERT_TRUE(missed) << unknown.body();
  EXPECT_EQ(missed->name, "missed");
  EXPECT_EQ(missed->data["data"]["reason"], "unknown");
  stop_gracefully(service, kKey);
}

TEST_F(EventsTest, TheKeyIsRequiredAndNeverAppearsInCommandRun) {
  auto& service = start_service(1);
  SseClient keyless(port_, "");
  EXPECT_EQ(keyless.status(), 401);
  SseClient wrong(port_, "Authorization: Bearer not-the-key\r\n");
  EXPECT_EQ(wrong.status(), 401);

  SseClient follower(port_, bearer());
  ASSERT_EQ(follower.status(), 200);
  ASSERT_EQ(run_command(port_, kKey, "workers").status, 200);
  const auto run = follower.next_named("commandRun");
  ASSERT_TRUE(run) << follower.body();
  EXPECT_EQ(run->data["data"]["command"], "workers");
  EXPECT_EQ(run->data["data"]["level"], "local");
  EXPECT_EQ(run->data["data"]["key"], 1);
  EXPECT_EQ(follower.body().find(kKey), std::string::npos) << follower.body();
  stop_gracefully(service, kKey);
}

TEST_F(EventsTest, AReaderThatDoesNotReadDoesNotHoldTheService) {
  auto& service = start_service(1);
  // Never read: its events wait in its socket and its bounded queue.
  std::vector<std::unique_ptr<SseClient>> stalled;
  for (int i = 0; i < 3; ++i) stalled.push_back(std::make_unique<SseClient>(port_, bearer()));
  SseClient follower(port_, bearer());
  ASSERT_EQ(follower.status(), 200);
  for (int i = 0; i < 200; ++i) {
    const auto answer = run_command(port_, kKey, "health", 5s);
    ASSERT_EQ(answer.status, 200) << "command " << i << " while followers stall";
  }
  const auto last = follower.next([](const SseClient::Event& e) {
    return e.name == "commandRun" && e.data["id"].get<int>() >= 200;
  });
  EXPECT_TRUE(last) << "the reading follower got every event";
  stop_gracefully(service, kKey);
}

TEST_F(EventsTest, TheStreamEndsCleanlyWhenTheServiceStops) {
  auto& service = start_service(1);
  SseClient follower(port_, bearer());
  ASSERT_EQ(follower.status(), 200);
  service.signal(SIGTERM);
  const auto exit = follower.next_named("workerExit");
  ASSERT_TRUE(exit) << follower.body();
  EXPECT_EQ(exit->data["data"]["reason"], "shutdown");
  EXPECT_TRUE(follower.ended_cleanly(10s)) << "the last chunk, then the close";
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(EventsTest, CserviceEventsJsonPrintsOneObjectALineAndEndsWithTheService) {
  auto& service = start_service(1);
  const std::vector<std::string> client = {"events", "--json", "--access-key", kKey, "--host",
                                           "127.0.0.1", "--port", std::to_string(port_)};
  auto& events = start(client);
  // Following once it has answered its own probe: the follow's log line names it.
  ASSERT_TRUE(service.wait_for("following events", 10s, "the follower connected"));
  ASSERT_EQ(run_command(port_, kKey, "version").status, 200);
  const auto line = events.wait_for(R"(^\{.*"name":"commandRun".*\}$)", 10s, "a commandRun line");
  ASSERT_TRUE(line);
  const json parsed = json::parse((*line)[0]);
  EXPECT_EQ(parsed["data"]["command"], "version");
  service.signal(SIGTERM);
  EXPECT_EQ(events.wait_exit(10s), 0) << events.output();
  EXPECT_EQ(service.wait_exit(10s), 0);
}

TEST_F(EventsTest, CserviceEventsFailsClearlyWithoutAServiceOrWithAWrongKey) {
  auto& service = start_service(1);
  auto& refused = start({"events", "--access-key", "wrong", "--host", "127.0.0.1", "--port",
                         std::to_string(port_)});
  EXPECT_EQ(refused.wait_exit(10s), 1);
  EXPECT_TRUE(refused.wait_for("refused: 401", 1s, "the refusal said"));
  stop_gracefully(service, kKey);
  auto& nobody = start({"events", "--access-key", kKey, "--host", "127.0.0.1", "--port",
                        std::to_string(port_)});
  EXPECT_EQ(nobody.wait_exit(10s), 1);
  EXPECT_TRUE(nobody.wait_for("no service answers", 1s, "the failure said"));
}

TEST_F(EventsTest, CserviceEventsPrintsALineForPeople) {
  auto& service = start_service(1);
  auto& events = start({"events", "--access-key", kKey, "--host", "127.0.0.1", "--port",
                        std::to_string(port_)});
  ASSERT_TRUE(service.wait_for("following events", 10s, "the follower connected"));
  const auto workers = json::parse(run_command(port_, kKey, "workers").body);
  const int pid = workers["workers"][0]["pid"].get<int>();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_TRUE(events.wait_for(R"(^\d\d:\d\d:\d\d\.\d{3} workerExit worker 1 pid )" +
                                  std::to_string(pid) + " failure .*(9|KILL)",
                              10s, "the workerExit line"));
  stop_gracefully(service, kKey);
  EXPECT_EQ(events.wait_exit(10s), 0);
}

}  // namespace
}  // namespace cservice::testing
