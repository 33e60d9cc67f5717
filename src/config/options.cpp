#include "config/options.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "config/option_table.hpp"
#include "os/real_path.hpp"
#include "os/spawn.hpp"

namespace cservice::config {
namespace {

using nlohmann::json;

// Finds the program the way a shell would, and checks it can be executed: a name with a '/' is
// a path; a bare name is a file in `base_dir`, else looked up in PATH.
Result<std::string> resolve_program(const std::string& program, const std::string& base_dir) {
  // Resolved, links and all (a release directory's `current/server`, or /usr/bin/python3 as
  // /usr/bin/python3.11): every worker started from these options runs what it leads to now.
  auto check = [](const std::string& given) -> Result<std::string> {
    const std::string named = absolute_path(given);
    auto resolved = os::real_path("program", named);
    if (!resolved) return resolved.error();
    const std::string& path = *resolved;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return os_error(fmt::format("program {}", os::path_and_target(named, path)), errno);
    }
    if (!S_ISREG(st.st_mode)) {
      return make_error(errc::bad_config, fmt::format("program {}: not a regular file",
                                                      os::path_and_target(named, path)));
    }
    if (::access(path.c_str(), X_OK) != 0) {
      return os_error(fmt::format("program {}: not executable", os::path_and_target(named, path)),
                      errno);
    }
    return path;
  };
  if (program.find('/') != std::string::npos) return check(join_path(base_dir, program));
  const std::string local = join_path(base_dir.empty() ? "." : base_dir, program);
  if (::access(local.c_str(), F_OK) == 0) return check(local);
  const char* path_env = std::getenv("PATH");
  std::string_view dirs = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const std::string dir(dirs.substr(0, colon));
    dirs.remove_prefix(colon == std::string_view::npos ? dirs.size() : colon + 1);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return check(candidate);
  }
  return make_error(errc::bad_config,
                    fmt::format("program {}: not found (not a file here, nor in PATH)", program));
}

// The value of `row` in `config`, under its key or one alias (the name it was found under in
// `key`); null if absent. Given under two names is an error.
Result<const json*> value_of(const json& config, const OptionRow& row, std::string_view& key) {
  const json* found = nullptr;
  for (std::size_t i = 0; i <= row.aliases.size(); ++i) {
    const std::string_view name = i == 0 ? row.key : row.aliases[i - 1];
    const auto it = config.find(name);
    if (it == config.end()) continue;
    if (found != nullptr) {
      return make_error(
          errc::bad_config,
          fmt::format("bad option {}: given twice, as {} and as {}; give one", row.key, key, name));
    }
    found = &*it;
    key = name;
  }
  return found;
}

// Checks `value` against the row's type, then lets the row store it.
Result<void> apply_row(const json& value, ApplyContext& ctx) {
  const OptionRow& row = ctx.row;
  switch (row.type) {
    case OptionType::Bool:
      if (!value.is_boolean()) return ctx.bad("true or false", value);
      break;
    case OptionType::Integer:
      if (!value.is_number_integer() || value.get<std::int64_t>() < row.low ||
          value.get<std::int64_t>() > row.high) {
        return ctx.bad(fmt::format("a whole number from {} to {}", row.low, row.high), value);
      }
      break;
    case OptionType::Ratio:
      if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1) {
        return ctx.bad("a number from 0 to 1", value);
      }
      break;
    case OptionType::Text:
    case OptionType::Program:
      if (!value.is_string() || value.get<std::string>().empty()) {
        return ctx.bad("a non-empty string", value);
      }
      break;
    case OptionType::Choice:
      if (!value.is_string() || std::find(row.choices.begin(), row.choices.end(),
                                          value.get<std::string>()) == row.choices.end()) {
        return ctx.bad(fmt::format("one of {}", fmt::join(row.choices, ", ")), value);
      }
      break;
    case OptionType::List:
    case OptionType::Map:
    case OptionType::Json:
    case OptionType::Arguments:
      break;  // the row's apply() checks what it accepts
  }
  return row.apply == nullptr ? Result<void>() : row.apply(value, ctx);
}

Result<void> apply_rows(const json& config, Options& options, const std::string& base_dir,
                        bool control_only) {
  for (const auto& row : option_table()) {
    if (row.kind != OptionKind::Service || row.type == OptionType::Program) continue;
    if (control_only && row.section != OptionSection::Control) continue;
    std::string_view key;
    auto value = value_of(config, row, key);
    if (!value) return value.error();
    if (*value == nullptr) continue;
    ApplyContext ctx{options, base_dir, row, key};
    if (auto applied = apply_row(**value, ctx); !applied) return applied.error();
  }
  return {};
}

}  // namespace

Result<ControlSettings> control_from_json(const json& config) {
  if (!config.is_object()) return ControlSettings{};
  Options options;
  if (auto applied = apply_rows(config, options, "", /*control_only=*/true); !applied) {
    return applied.error();
  }
  return std::move(options.control);
}

std::uint32_t default_worker_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) {
    return static_cast<std::uint32_t>(CPU_COUNT(&set));
  }
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<std::uint32_t>(n) : 1;
}

Result<Options> from_json(const json& config, const std::string& base_dir) {
  if (!config.is_object()) {
    return make_error(errc::bad_config, fmt::format("bad configuration: expected a JSON object "
                                                    "of options, got {}",
                                                    config.type_name()));
  }
  std::vector<std::string> known;
  for (const auto& row : option_table()) {
    if (row.kind != OptionKind::Service) continue;
    known.emplace_back(row.key);
    for (const auto alias : row.aliases) known.emplace_back(alias);
  }
  for (const auto& item : config.items()) {
    const std::string& key = item.key();  // a structured binding: clang 14 cannot capture it
    if (find_option(key) != nullptr) continue;
    const std::string near = nearest_name(key, known);
    return make_error(errc::bad_config,
                      fmt::format("unknown option '{}'{}", key,
                                  near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)));
  }

  Options o;
  o.policy.worker_count = default_worker_count();
  if (auto applied = apply_rows(config, o, base_dir, /*control_only=*/false); !applied) {
    return applied.error();
  }

  const OptionRow& program_row = *find_option("program");
  std::string_view program_key;
  auto program = value_of(config, program_row, program_key);
  if (!program) return program.error();
  if (*program == nullptr) {
    return make_error(errc::bad_config,
                      "no program given: cservice [options] <program|service.json> [-- args...]");
  }
  ApplyContext ctx{o, base_dir, program_row, program_key};
  if (auto checked = apply_row(**program, ctx); !checked) return checked.error();
  // Relative to the workers' cwd if one is given, as the workers would see it.
  auto resolved = resolve_program((*program)->get<std::string>(), o.cwd.empty() ? base_dir : o.cwd);
  if (!resolved) return resolved.error();
  o.program = std::move(*resolved);
  return o;
}

}  // namespace cservice::config
