// Fuzzes the JSON config loader (config/options.hpp): the input is a service.json. As
// config::read_config_file and config::load do, the text is parsed, then validated by
// from_json (with the file's folder as base directory), and the control-plane keys alone by
// control_from_json (as remote mode does). Validation only looks at the file system (stat,
// access); it starts nothing. Check: no exception escapes, a bad file is an Error.

#include <cstdint>
#include <string_view>

#include "base/check.hpp"
#include "config/options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cservice::config;
  const auto config =
      nlohmann::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), nullptr,
                            /*allow_exceptions=*/false);
  if (config.is_discarded()) return 0;
  if (const auto options = from_json(config, "fuzz-config-dir"); options) {
    CSERVICE_CHECK(options->program.starts_with('/'),
                   "the program is resolved to an absolute path");
    CSERVICE_CHECK(options->policy.worker_count >= 1, "at least one worker");
  } else {
    CSERVICE_CHECK(!options.error().message.empty(), "an error says what is wrong");
  }
  (void)control_from_json(config);
  return 0;
}
