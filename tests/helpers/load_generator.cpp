#include "load_generator.hpp"

namespace cservice::testing {

LoadGenerator::LoadGenerator(Mode mode, std::string host, int port, int threads)
    : host_(std::move(host)), port_(port) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this, mode] { run(mode); });
}

LoadGenerator::~LoadGenerator() { stop(); }

void LoadGenerator::stop() {
  running_ = false;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void LoadGenerator::record(Sample sample) {
  std::lock_guard lock(mutex_);
  samples_.push_back(std::move(sample));
}

void LoadGenerator::run(Mode mode) {
  std::unique_ptr<KeepAliveConnection> connection;
  while (running_) {
    const auto sent = std::chrono::steady_clock::now();
    if (mode == Mode::NewConnection) {
      const auto answer = http_get(host_, port_);
      const bool ok = answer && answer->status == 200;
      record({sent, ok, answer ? answer->body : "no answer (connection refused, reset or timed out)"});
      continue;
    }
    if (!connection) {
      connection = std::make_unique<KeepAliveConnection>();
      if (!connection->connect(host_, port_)) {
        record({sent, false, "connect failed"});
        connection.reset();
        continue;
      }
    }
    const auto answer = connection->get();
    const bool ok = answer && answer->status == 200;
    record({sent, ok, answer ? answer->body : "no answer on a kept-alive connection"});
    if (!answer || !answer->keep_alive) connection.reset();
  }
}

std::vector<LoadGenerator::Sample> LoadGenerator::samples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

std::size_t LoadGenerator::failures() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& s : samples_) n += s.ok ? 0 : 1;
  return n;
}

std::size_t LoadGenerator::successes() const {
  std::lock_guard lock(mutex_);
  return samples_.size() - [this] {
    std::size_t n = 0;
    for (const auto& s : samples_) n += s.ok ? 0 : 1;
    return n;
  }();
}

}  // namespace cservice::testing
