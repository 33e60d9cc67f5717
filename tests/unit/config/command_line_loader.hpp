#pragma once
// For the config tests: the Options a command line gives, as main() loads them (argv[0] is
// "cservice").

#include "config/flags.hpp"
#include "config/options.hpp"

#include <string>
#include <vector>

namespace cservice::config {

inline Result<Options> load_command_line(const std::vector<std::string>& words) {
  std::vector<const char*> argv = {"cservice"};
  for (const auto& word : words) argv.push_back(word.c_str());
  auto command_line = parse_command_line(static_cast<int>(argv.size()), argv.data());
  if (!command_line) return command_line.error();
  return load(*command_line);
}

}  // namespace cservice::config
