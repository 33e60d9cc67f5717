// Fuzzes the worker channel's requests (control/worker_channel.hpp): the input is what a worker
// writes on its connection. As the channel does, it is cut into lines at '\n' (a line over
// kMaxLineBytes ends the connection), each parsed by parse_request; a good request runs as the
// serving master runs a command for a worker, at level local (ControlPlane::run_trusted); a bad
// one ends the connection. Checks: a request has a name; every request gets one answer at once,
// never a 500.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/check.hpp"
#include "control/worker_channel.hpp"
#include "control/worker_channel_request.hpp"
#include "control_fixture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cservice::controlplane;
  auto& plane = cservice::fuzz::ControlFixture::get().plane();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (;;) {
    const auto newline = input.find('\n');
    if (newline == std::string_view::npos) break;  // the worker closed mid-line
    if (newline + 1 > WorkerChannel::kMaxLineBytes) break;
    const std::string line(input.substr(0, newline));
    input.remove_prefix(newline + 1);
    auto request = parse_request(line);
    if (!request) break;
    CSERVICE_CHECK(!request->first.empty(), "a request has a name");
    int answers = 0;
    plane.run_trusted(request->first, std::move(request->second),
                      {cservice::commands::TrustLevel::Local, "worker pid 1"},
                      [&](const Outcome& outcome) {
                        ++answers;
                        cservice::fuzz::check_outcome(outcome);
                      });
    CSERVICE_CHECK(answers == 1, "one answer per request");
  }
  return 0;
}
