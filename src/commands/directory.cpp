#include "commands/directory.hpp"

#include "base/json.hpp"
#include "commands/registry.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace cservice::commands {
namespace {

namespace fs = std::filesystem;

// A command name must survive the command-line parser as one bare word.
bool is_command_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.';
  });
}

std::string trimmed(std::string text) {
  const auto is_space = [](unsigned char c) { return std::isspace(c) != 0; };
  text.erase(std::find_if_not(text.rbegin(), text.rend(), is_space).base(), text.end());
  text.erase(text.begin(), std::find_if_not(text.begin(), text.end(), is_space));
  return text;
}

void read_help(const fs::path& file, CommandProgram& program) {
  std::ifstream in(file);
  std::string usage;
  if (!in || !std::getline(in, usage)) return;
  std::stringstream rest;
  rest << in.rdbuf();
  program.usage = trimmed(usage);
  program.description = trimmed(rest.str());
}

}  // namespace

Result<std::vector<CommandProgram>> scan_command_directories(
    const std::vector<std::string>& directories) {
  std::map<std::string, CommandProgram> found;
  for (const auto& directory : directories) {
    std::error_code ec;
    fs::directory_iterator it(directory, ec);
    if (ec) {
      return make_error(errc::bad_config,
                        fmt::format("commands directory {}: {}", directory, ec.message()));
    }
    for (const auto& entry : it) {
      const fs::path path = fs::absolute(entry.path());
      const std::string file = path.filename().string();
      if (file.starts_with('.') || !entry.is_regular_file(ec) ||
          ::access(path.c_str(), X_OK) != 0) {
        continue;
      }
      CommandProgram program{path.stem().string(), path.string(), "", ""};
      if (!is_command_name(program.name)) {
        return make_error(errc::bad_config,
                          fmt::format("commands directory {}: '{}' is not a usable command name "
                                      "(letters, digits, '-', '_', '.')",
                                      directory, file));
      }
      if (const auto other = found.find(program.name); other != found.end()) {
        return make_error(errc::bad_config,
                          fmt::format("commands directory: {} and {} would both be command '{}'",
                                      other->second.path, program.path, program.name));
      }
      program.usage = program.name + " [args...]";
      program.description = fmt::format("Runs {}.", program.path);
      read_help(path.parent_path() / (program.name + ".help"), program);
      found.emplace(program.name, std::move(program));
    }
  }
  std::vector<CommandProgram> programs;
  for (auto& [name, program] : found) programs.push_back(std::move(program));
  return programs;
}

Result<nlohmann::json> interpret_outcome(const std::string& name, Milliseconds timeout,
                                         const ProgramOutcome& outcome) {
  if (!outcome.status) {
    return make_error(errc::failed, fmt::format("{}: {}", name, outcome.start_error));
  }
  if (outcome.timed_out) {
    return make_error(errc::timed_out,
                      fmt::format("{}: no answer within {} ms (killed)", name, timeout.count()));
  }
  if (outcome.truncated) {
    return make_error(errc::failed, fmt::format("{}: printed more than {} bytes", name,
                                                  outcome.out.size()));
  }
  const std::string out = trimmed(outcome.out);
  if (outcome.status->signaled || outcome.status->value != 0) {
    const std::string err = trimmed(outcome.err);
    const std::string& said = err.empty() ? out : err;
    return make_error(errc::failed,
                      fmt::format("{}: failed ({}){}{}", name, outcome.status->describe(),
                                  said.empty() ? "" : ": ", said));
  }
  auto parsed = parse_json(out);
  if (parsed.is_discarded() || out.empty()) return nlohmann::json(out);
  return parsed;
}

Command directory_command(const CommandProgram& program, Milliseconds timeout,
                          ProgramRunner runner) {
  return {
      program.name,
      program.usage,
      program.description,
      // A program run with the caller's arguments: local by default.
      TrustLevel::Local,
      [program, timeout, runner = std::move(runner)](
          Context&, const Registry&, const std::vector<nlohmann::json>& args, Reply reply) {
        std::vector<std::string> argv;
        for (const auto& arg : args) {
          argv.push_back(arg.is_string() ? arg.get<std::string>() : arg.dump());
        }
        answer_when_done(std::move(reply), [&](std::function<void(Result<nlohmann::json>)> done) {
          runner(program.path, std::move(argv),
                 [done = std::move(done), name = program.name, timeout](ProgramOutcome outcome) {
                   done(interpret_outcome(name, timeout, outcome));
                 });
          return Result<void>{};
        });
      },
  };
}

}  // namespace cservice::commands
