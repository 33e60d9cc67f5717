// Fuzzes the command-line flags (config/flags.hpp): the input is the arguments after the
// program name, separated by NUL bytes, as they reach main(). They are parsed with
// config::parse_command_line (the option table); a serve command line is then loaded with config::load
// into validated Options, as serve mode does. A target named *.json would make load() read that
// file, so those are not loaded (the config_fuzzer covers service.json). Check: no exception
// escapes, bad flags are an Error.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/check.hpp"
#include "config/flags.hpp"
#include "config/options.hpp"

namespace {

constexpr std::size_t kMaxArgs = 64;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cservice::config;
  std::vector<std::string> words = {"cservice"};
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty() && words.size() <= kMaxArgs) {
    const auto nul = rest.find('\0');
    words.emplace_back(rest.substr(0, nul));
    rest.remove_prefix(nul == std::string_view::npos ? rest.size() : nul + 1);
  }
  std::vector<const char*> argv;
  for (const auto& word : words) argv.push_back(word.c_str());
  argv.push_back(nullptr);

  const auto command_line = parse_command_line(static_cast<int>(words.size()), argv.data());
  if (!command_line) {
    CSERVICE_CHECK(!command_line.error().message.empty(), "an error says what is wrong");
    return 0;
  }
  if (command_line->action != CommandLine::Action::Serve) return 0;
  CSERVICE_CHECK(!command_line->target.empty(), "serve mode has a target");
  if (command_line->target.ends_with(".json")) return 0;
  if (const auto options = load(*command_line); options) {
    CSERVICE_CHECK(options->program.starts_with('/'),
                   "the program is resolved to an absolute path");
  }
  return 0;
}
