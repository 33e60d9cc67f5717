#pragma once
// LoadGenerator keeps HTTP GETs flowing to host:port from several threads until stopped, and
// records every outcome: the zero-downtime tests assert that none failed.
//   NewConnection: a new connection per request.
//   KeepAlive:     each thread reuses its connection as fast as it can, reconnecting only when
//                  the server answers "Connection: close" (as any HTTP/1.1 client does).

#include "http_client.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cservice::testing {

class LoadGenerator {
 public:
  enum class Mode { NewConnection, KeepAlive };
  // Test-name suffixes for parameterized tests: "NewConnectionPerRequest", "KeepAliveFullSpeed".
  static const char* name_of(Mode mode) {
    return mode == Mode::NewConnection ? "NewConnectionPerRequest" : "KeepAliveFullSpeed";
  }
  struct Sample {
    std::chrono::steady_clock::time_point sent;
    bool ok = false;
    std::string body;  // the answer, or what went wrong
  };

  LoadGenerator(Mode mode, std::string host, int port, int threads);
  ~LoadGenerator();  // stops
  void stop();

  std::vector<Sample> samples() const;
  std::size_t failures() const;
  std::size_t successes() const;

 private:
  void run(Mode mode);
  void record(Sample sample);

  std::string host_;
  int port_;
  std::atomic<bool> running_{true};
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::vector<Sample> samples_;
};

}  // namespace cservice::testing
