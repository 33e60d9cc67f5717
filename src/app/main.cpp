// cservice: the command-line entry point. The first argument decides the mode, as in the
// original: an existing file (or a path, or a .json name, or a name followed by "--" and the
// program's arguments) is a program or service file to serve; anything else is a command line
// to send to the running service (remote mode).
// Startup failures are one clear line and exit status 2, before any worker starts.

#include "app/completion.hpp"
#include "app/console.hpp"
#include "app/modes.hpp"
#include "app/version.hpp"
#include "base/log.hpp"
#include "commands/answer.hpp"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

namespace {

// An existing executable file or service file is served; else a target with a blank is a command
// line (`cservice "start ./server /srv 5000"`), and one with a '/' or a .json name a program. A
// directory or a plain file named like a command (`health`, `workers/`) does not take it over.
bool names_a_program(const std::string& target) {
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      (target.ends_with(".json") || ::access(target.c_str(), X_OK) == 0)) {
    return true;
  }
  if (target.find_first_of(" \t") != std::string::npos) return false;
  return target.find('/') != std::string::npos || target.ends_with(".json");
}

// Whether the command line asks for --json (before "--": after it, words are a program's).
bool asks_for_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") return false;
    if (arg == "--json") return true;
  }
  return false;
}

// A key given on the command line can be read by every local user in /proc/PID/cmdline. Once
// parsed, it is overwritten there with '*' (as database servers do with passwords); the words
// after "--" are the workers' arguments and are left alone.
void hide_keys(int argc, char** argv) {
  const auto blank = [](char* text) { std::memset(text, '*', std::strlen(text)); };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") return;
    for (const std::string_view flag : {"--access-key", "--accessKey", "-k"}) {
      if (arg == flag) {
        if (i + 1 < argc) blank(argv[++i]);
        break;
      }
      if (arg.starts_with(flag) && arg.size() > flag.size()) {
        // --access-key=KEY, -kKEY, -k=KEY
        blank(argv[i] + flag.size() + (arg[flag.size()] == '=' ? 1 : 0));
        break;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cservice;
  try {
    auto command_line = config::parse_command_line(argc, argv);
    hide_keys(argc, argv);
    if (!command_line) {
      const std::string message = command_line.error().message + " (see cservice --help)";
      // A script that asked for JSON gets it for bad usage too.
      if (asks_for_json(argc, argv)) {
        app::print_answer(commands::failure(400, message), app::AnswerFormat::Json);
      } else {
        log::error("{}", message);
      }
      return app::kExitUsage;
    }
    app::choose_colors(command_line->color);
    switch (command_line->action) {
      case config::CommandLine::Action::Help:
        std::fputs(command_line->help.c_str(), stdout);
        return app::kExitOk;
      case config::CommandLine::Action::Version:
        std::printf("cservice %s\n", app::kVersion);
        return app::kExitOk;
      case config::CommandLine::Action::Completion:
        std::fputs(app::bash_completion().c_str(), stdout);
        return app::kExitOk;
      case config::CommandLine::Action::Remote:
        return app::remote(*command_line);
      case config::CommandLine::Action::Console:
        return app::console_for(*command_line);
      case config::CommandLine::Action::Serve:
        break;
    }
    // Arguments after "--" are a program's: `cservice node -- server.js` serves node.
    if (command_line->config_file.empty() && !command_line->options.contains("args") &&
        !names_a_program(command_line->target)) {
      return app::remote(*command_line);
    }
    auto options = config::load(*command_line);
    if (!options) {
      log::error("{}", options.error().message);
      return app::kExitUsage;
    }
    return app::serve(*options);
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return app::kExitFailure;
  }
}
