#pragma once
// Strong ids, so a worker slot number and a process id cannot be mixed up.

#include <cstdint>
#include <sys/types.h>

namespace cservice {

// A worker slot: stable across restarts of the process in it (CSERVICE_WORKER_ID). From 1.
enum class WorkerId : std::uint32_t {};
// A process id.
enum class Pid : pid_t {};

// Who is at the other end of a unix socket, as the kernel vouches for it (SO_PEERCRED,
// SCM_CREDENTIALS): its process and effective user.
struct PeerCredentials {
  Pid pid;
  uid_t uid;
};

constexpr std::uint32_t to_int(WorkerId id) { return static_cast<std::uint32_t>(id); }
constexpr pid_t to_int(Pid pid) { return static_cast<pid_t>(pid); }

}  // namespace cservice
