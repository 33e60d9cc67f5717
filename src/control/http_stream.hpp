#pragma once
// HttpStream: the body of a streamed HTTP answer (Server-Sent Events), written as chunks while
// they come until either end stops: the producer ends it (end()), the client hangs up, or the
// client reads too slowly and the queue overflows. A handler answers with an HttpResponse whose
// `stream` is set; the session writes the head, then whatever is queued, then a `heartbeat`
// after each `heartbeat_interval` without a chunk (so a dead peer is noticed by the failed
// write, and proxies keep the connection).
//
// Memory: what waits for a slow reader is bounded by `max_queued_bytes`; a push past it drops
// the follower (the stream ends, its connection closes: nothing more can reach a peer whose
// socket is full anyway). Shared by the producer (which should keep only a weak_ptr) and the
// session. Loop thread only. No Beast here.

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cservice::controlplane {

class HttpStream {
 public:
  HttpStream(std::size_t max_queued_bytes, std::string heartbeat,
             std::chrono::milliseconds heartbeat_interval)
      : max_queued_bytes_(max_queued_bytes),
        heartbeat_(std::move(heartbeat)),
        heartbeat_interval_(heartbeat_interval) {}

  // Producer side. Queues `chunk`; false if the stream has ended, or ends now because the
  // queue would exceed its bound (overflowed() then says so).
  bool push(std::string_view chunk) {
    if (ended_) return false;
    if (queued_.size() + chunk.size() > max_queued_bytes_) {
      overflowed_ = true;
      end();
      return false;
    }
    queued_.append(chunk);
    wake();
    return true;
  }
  // No more chunks: the session writes what is queued, then the end of the body, and closes.
  void end() {
    ended_ = true;
    wake();
  }
  bool ended() const { return ended_; }
  bool overflowed() const { return overflowed_; }
  std::size_t queued_bytes() const { return queued_.size(); }
  // Keeps `token` alive as long as this stream (a producer learns so when the streams it
  // ended are all gone).
  void keep_until_gone(std::shared_ptr<void> token) { tokens_.push_back(std::move(token)); }

  // Session side. Takes what is queued (empty: nothing yet).
  std::string take() { return std::exchange(queued_, {}); }
  const std::string& heartbeat() const { return heartbeat_; }
  std::chrono::milliseconds heartbeat_interval() const { return heartbeat_interval_; }
  // Publishes the timer the session waits on, to be cancelled by push() and end(), for the
  // guard's lifetime.
  class Waiting {
   public:
    Waiting(HttpStream& stream, boost::asio::steady_timer& timer) : stream_(stream) {
      stream_.wake_ = &timer;
    }
    ~Waiting() { stream_.wake_ = nullptr; }
    Waiting(const Waiting&) = delete;
    Waiting& operator=(const Waiting&) = delete;

   private:
    HttpStream& stream_;
  };

 private:
  void wake() {
    if (wake_ != nullptr) wake_->cancel();
  }

  std::size_t max_queued_bytes_;
  std::string heartbeat_;
  std::chrono::milliseconds heartbeat_interval_;
  std::string queued_;
  bool ended_ = false;
  bool overflowed_ = false;
  boost::asio::steady_timer* wake_ = nullptr;
  std::vector<std::shared_ptr<void>> tokens_;
};

}  // namespace cservice::controlplane
