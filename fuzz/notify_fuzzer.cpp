// Fuzzes the notify datagram parser (runtime/notify_message.hpp) with any bytes, as a worker
// may send to the notify socket. Checks the contract: a datagram over the size limit or holding
// a NUL is dropped whole, any other is read; a status is a piece of the datagram; an extension
// is at most a year.

#include <chrono>
#include <cstdint>
#include <string_view>

#include "base/check.hpp"
#include "runtime/notify_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cservice::runtime;
  const std::string_view datagram(reinterpret_cast<const char*>(data), size);
  const auto message = parse_notify(datagram);
  const bool droppable = size > kMaxNotifyDatagram || datagram.find('\0') != std::string_view::npos;
  CSERVICE_CHECK(message.has_value() != droppable, "dropped exactly when too long or with a NUL");
  if (!message) return 0;
  if (message->status) {
    CSERVICE_CHECK(datagram.find(*message->status) != std::string_view::npos,
                   "the status comes from the datagram");
  }
  if (message->extend_timeout) {
    CSERVICE_CHECK(*message->extend_timeout <= std::chrono::hours(24 * 365),
                   "an extension is at most a year");
  }
  return 0;
}
