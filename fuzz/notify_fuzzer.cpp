// Fuzzes the notify datagram parser (runtime/notify_message.hpp) with any bytes, as a worker
// may send to the notify socket. Checks the contract: a datagram over the size limit or holding
// a NUL is dropped whole, any other is read; a status is one printable line of valid UTF-8
// (escaped from the datagram: it reaches the log and JSON answers); an extension is at most a
// year.

#include <chrono>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

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
    for (const char c : *message->status) {
      const auto byte = static_cast<unsigned char>(c);
      CSERVICE_CHECK(byte >= 0x20 && byte != 0x7f, "a status holds no control character");
    }
    // Throws (a crash here) if the status is not valid UTF-8.
    (void)nlohmann::json(*message->status).dump();
  }
  if (message->extend_timeout) {
    CSERVICE_CHECK(*message->extend_timeout <= std::chrono::hours(24 * 365),
                   "an extension is at most a year");
  }
  return 0;
}
