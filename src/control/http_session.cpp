#include "control/http_session.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace cservice::controlplane::detail {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// Where a request's answer waits for its session. The handler's Respond callback fills it once
// (later calls are ignored); when every copy of the callback is gone unanswered, it is filled
// with a 500. The session's timer, while it waits, is woken by either.
class AnswerSlot {
 public:
  static HttpServer::Respond respond(std::shared_ptr<AnswerSlot> slot) {
    // Shared by the copies of one callback: the last copy gone unanswered is a bug of ours.
    struct Unanswered {
      std::shared_ptr<AnswerSlot> slot;
      bool answered = false;
      ~Unanswered() {
        if (answered) return;
        log::error("bug: control: a request was dropped unanswered");
        slot->fill({error_response(500, "internal error: the request was dropped unanswered"),
                    true});
      }
    };
    auto state = std::make_shared<Unanswered>();  // built in place: a temporary would "drop"
    state->slot = std::move(slot);
    return [state = std::move(state)](HttpResponse response) {
      state->answered = true;
      state->slot->fill({std::move(response), false});
    };
  }

  void fill(Answer answer) {
    if (answer_) return;
    answer_ = std::move(answer);
    if (wake_ != nullptr) wake_->cancel();
  }
  std::optional<Answer>& answer() { return answer_; }

  // Publishes `timer` as the one to wake, for the guard's lifetime.
  class Waiting {
   public:
    Waiting(AnswerSlot& slot, asio::steady_timer& timer) : slot_(slot) { slot_.wake_ = &timer; }
    ~Waiting() { slot_.wake_ = nullptr; }
    Waiting(const Waiting&) = delete;
    Waiting& operator=(const Waiting&) = delete;

   private:
    AnswerSlot& slot_;
  };

 private:
  std::optional<Answer> answer_;
  asio::steady_timer* wake_ = nullptr;
};

}  // namespace

ServerCore::ServerCore(HttpLimits l, HttpServer::Handler h, HttpServer::Authenticate a)
    : limits(l),
      handle(std::move(h)),
      authenticate(std::move(a)),
      // A connection that has had half its head_timeout may be displaced by a newcomer.
      connections({l.max_connections, l.max_queued, l.max_unauthenticated,
                   l.max_unauthenticated_per_peer, l.head_timeout / 2},
                  l.queue_timeout) {}

HttpResponse error_response(unsigned status, std::string text) {
  return {status, "text/plain; charset=utf-8", std::move(text)};
}

bool is_authenticated(ServerCore& core, const HttpRequest& head) {
  if (!core.authenticate) return true;
  try {
    return core.authenticate(head);
  } catch (const std::exception& e) {
    log::error("bug: control: authenticating a request threw: {}", e.what());
  } catch (...) {
    log::error("bug: control: authenticating a request threw");
  }
  return false;
}

asio::awaitable<std::optional<Answer>> answer_of(ServerCore& core, LiveConnection& connection,
                                                 HttpRequest request,
                                                 std::chrono::milliseconds deadline) {
  auto slot = std::make_shared<AnswerSlot>();
  try {
    core.handle(std::move(request), AnswerSlot::respond(slot));
  } catch (const std::exception& e) {
    log::error("bug: control: the request handler threw: {}", e.what());
    slot->fill({error_response(500, "internal error"), true});
  } catch (...) {
    log::error("bug: control: the request handler threw");
    slot->fill({error_response(500, "internal error"), true});
  }
  if (!slot->answer()) {
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    const LiveConnection::Waiting connection_waiting(connection, timer);
    const AnswerSlot::Waiting slot_waiting(*slot, timer);
    co_await timer.async_wait(use_tuple);
  }
  if (connection.closed) co_return std::nullopt;
  if (!slot->answer()) {
    log::warn("control: {}: no answer within {} ms", connection.peer.to_string(), deadline.count());
    co_return Answer{error_response(504, fmt::format("no answer within {} ms", deadline.count())),
                     true};
  }
  co_return std::move(*slot->answer());
}

std::optional<HttpResponse> refusal_for(const boost::system::error_code& read_error) {
  if (read_error == http::error::body_limit || read_error == http::error::header_limit) {
    return error_response(413, "request too large");
  }
  if (read_error == http::error::end_of_stream || read_error == http::error::partial_message) {
    return std::nullopt;
  }
  if (read_error.category() == make_error_code(http::error::bad_target).category()) {
    return error_response(400, "malformed HTTP request: " + read_error.message());
  }
  return std::nullopt;
}

http::response<http::string_body> to_beast(const HttpResponse& answer, unsigned version,
                                           bool& keep_alive) {
  const auto build = [version](const HttpResponse& from, bool keep) {
    http::response<http::string_body> response(static_cast<http::status>(from.status), version);
    response.set(http::field::server, "cservice");
    response.set(http::field::content_type, from.content_type);
    response.set(http::field::cache_control, "no-store");
    response.body() = from.body;
    response.keep_alive(keep);
    response.prepare_payload();
    return response;
  };
  try {
    return build(answer, keep_alive);
  } catch (const std::exception& e) {
    log::error("bug: control: building an answer threw: {}", e.what());
    keep_alive = false;
    return build(error_response(500, "internal error"), false);
  }
}

}  // namespace cservice::controlplane::detail
