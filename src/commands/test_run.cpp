#include "commands/test_run.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/text.hpp"
#include "commands/registry.hpp"

namespace cservice::commands {
namespace {

constexpr const char* kUsage =
    "usage: test testScript [timeout] [{\"timeout\": ms, \"args\": [...]}]";

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

Result<std::optional<Milliseconds>> parse_timeout(const nlohmann::json& value) {
  if (value.is_number_integer() && value.get<long long>() >= 0 &&
      value.get<long long>() <= kMaxTestTimeout.count()) {
    const Milliseconds timeout(value.get<long long>());
    return timeout.count() == 0 ? std::optional<Milliseconds>() : timeout;
  }
  return make_error(errc::bad_request,
                    fmt::format("test: timeout must be milliseconds, a whole number from 0 (none) "
                                "to {}, got {}",
                                kMaxTestTimeout.count(), json_text(value)));
}

// The last lines of `output` (see output_tail), and whether they are all of it.
struct Tail {
  std::string_view text;
  bool whole = true;
};
Tail tail_of(std::string_view output) {
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) {
    output.remove_suffix(1);
  }
  std::size_t start = output.size();
  for (std::size_t lines = 0; start > 0; --start) {
    if (output[start - 1] == '\n' && ++lines == kTailLines) break;
  }
  if (output.size() - start > kTailBytes) {
    start = output.size() - kTailBytes;
    // At most three continuation bytes follow a lead byte: skip those of a cut character.
    for (int i = 0; i < 3 && start < output.size() && is_continuation(output[start]); ++i) {
      ++start;
    }
  }
  return {output.substr(start), start == 0};
}

// Each line escaped, joined by '\n'; a CR before the LF dropped.
std::string escaped_lines(std::string_view text) {
  std::string out;
  for (;;) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (line.ends_with('\r')) line.remove_suffix(1);
    append_escaped(out, line, Backslashes::Escaped, Tabs::Kept);
    if (end == std::string_view::npos) return out;
    out += '\n';
    text.remove_prefix(end + 1);
  }
}

}  // namespace

Result<TestRun> parse_test_run(const std::vector<nlohmann::json>& args) {
  if (args.empty()) {
    return make_error(errc::bad_request, fmt::format("test: expected a test script; {}", kUsage));
  }
  // Named as the caller would read it: "./check.sh" is "/srv/app/check.sh", not
  // "/srv/app/./check.sh". Only a leading "./" goes: dropping "dir/.." could name another file
  // where dir is a symbolic link.
  nlohmann::json path = args[0];
  if (path.is_string()) {
    std::string text = path.get<std::string>();
    while (text.starts_with("./") && text.size() > 2 && text[2] != '/') text.erase(0, 2);
    path = text;
  }
  auto script = checked_program("test", path);
  if (!script) return script.error();
  TestRun run{std::move(*script), {}, std::nullopt};
  std::size_t at = 1;
  if (args.size() > at && !args[at].is_object()) {
    auto timeout = parse_timeout(args[at]);
    if (!timeout) return timeout.error();
    run.timeout = *timeout;
    ++at;
  }
  if (args.size() > at && !args[at].is_object()) {
    return make_error(errc::bad_request,
                      fmt::format("test: unexpected argument {}; {}", json_text(args[at]), kUsage));
  }
  auto options = parse_options("test", args, at, {"timeout", "args"});
  if (!options) return options.error();
  if (options->contains("timeout")) {
    auto timeout = parse_timeout((*options)["timeout"]);
    if (!timeout) return timeout.error();
    run.timeout = *timeout;
  }
  if (options->contains("args")) {
    const auto& list = (*options)["args"];
    if (!list.is_array() ||
        std::any_of(list.begin(), list.end(), [](const auto& a) { return !a.is_string(); })) {
      return make_error(
          errc::bad_request,
          fmt::format("test: args must be an array of strings, got {}", json_text(list)));
    }
    run.args = list.get<std::vector<std::string>>();
  }
  return run;
}

std::string output_tail(std::string_view output) { return escaped_lines(tail_of(output).text); }

bool passed(const TestOutcome& outcome) {
  return outcome.status && !outcome.timed_out && !outcome.status->signaled &&
         outcome.status->value == 0;
}

Result<nlohmann::json> test_answer(const TestRun& run, const TestOutcome& outcome) {
  if (!outcome.status && !outcome.timed_out) {
    return make_error(errc::failed,
                      fmt::format("test {}: could not start: {}", run.script, outcome.start_error));
  }
  const Tail tail = tail_of(outcome.output);
  if (passed(outcome)) {
    return nlohmann::json{{"test", run.script},
                          {"passed", true},
                          {"exitStatus", 0},
                          {"durationMs", outcome.duration.count()},
                          {"output", escaped_lines(tail.text)}};
  }
  std::string how;
  if (outcome.timed_out) {
    how = fmt::format("timed out after {} ms (killed with its process group)",
                      run.timeout.value_or(outcome.duration).count());
  } else {
    how = fmt::format("failed ({}) after {} ms", outcome.status->describe(),
                      outcome.duration.count());
  }
  std::string shown = "no output";
  if (!tail.text.empty()) {
    shown = fmt::format("{}output:\n{}", tail.whole && !outcome.truncated ? "" : "last ",
                        escaped_lines(tail.text));
  }
  return make_error(errc::failed, fmt::format("test {}: {}; {}", run.script, how, shown));
}

}  // namespace cservice::commands
