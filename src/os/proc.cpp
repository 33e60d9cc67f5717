#include "os/proc.hpp"

#include <dirent.h>

#include <fstream>
#include <iterator>
#include <sstream>

namespace cservice::os {

namespace {

// The children of the process whose /proc directory is `dir` ("self", "1234").
std::vector<Pid> children_in(const std::string& dir) {
  std::vector<Pid> pids;
  DIR* tasks = ::opendir(("/proc/" + dir + "/task").c_str());
  if (tasks == nullptr) return pids;
  while (const dirent* task = ::readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    std::ifstream children("/proc/" + dir + "/task/" + task->d_name + "/children");
    pid_t pid = 0;
    while (children >> pid) pids.push_back(Pid{pid});
  }
  ::closedir(tasks);
  return pids;
}

}  // namespace

std::vector<Pid> own_children() { return children_in("self"); }

std::vector<Pid> descendants(Pid pid) {
  // Bounded, so that a fork bomb under a worker cannot keep the master here.
  constexpr std::size_t kMaxDescendants = 100000;
  std::vector<Pid> found = children_in(std::to_string(to_int(pid)));
  for (std::size_t i = 0; i < found.size() && found.size() < kMaxDescendants; ++i) {
    for (const Pid child : children_in(std::to_string(to_int(found[i])))) found.push_back(child);
  }
  return found;
}

std::optional<std::string> environment_value(Pid pid, std::string_view name) {
  std::ifstream file("/proc/" + std::to_string(to_int(pid)) + "/environ", std::ios::binary);
  if (!file) return std::nullopt;
  std::string entry;
  while (std::getline(file, entry, '\0')) {
    if (entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 &&
        entry[name.size()] == '=') {
      return entry.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

namespace {

// Field `number` (1-based, as proc(5) counts) of /proc/PID/stat, for fields 3 and beyond.
std::optional<std::uint64_t> stat_field(Pid pid, int number) {
  std::ifstream file("/proc/" + std::to_string(to_int(pid)) + "/stat");
  std::string text;
  if (!std::getline(file, text)) return std::nullopt;
  // The fields after the command name, which may itself hold spaces and parentheses.
  const auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 > text.size()) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  // Field 3 (state) is the first here.
  for (int i = 3; i < number; ++i) {
    if (!(fields >> field)) return std::nullopt;
  }
  std::uint64_t value = 0;
  if (!(fields >> value)) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::uint64_t> start_ticks(Pid pid) { return stat_field(pid, 22); }

std::optional<Pid> parent_of(Pid pid) {
  const auto parent = stat_field(pid, 4);
  if (!parent) return std::nullopt;
  return Pid{static_cast<pid_t>(*parent)};
}

std::optional<uid_t> effective_uid(Pid pid) {
  std::ifstream file("/proc/" + std::to_string(to_int(pid)) + "/status");
  std::string line;
  while (std::getline(file, line)) {
    if (!line.starts_with("Uid:")) continue;
    std::istringstream ids(line.substr(4));
    uid_t real = 0;
    uid_t effective = 0;
    if (ids >> real >> effective) return effective;
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace cservice::os
