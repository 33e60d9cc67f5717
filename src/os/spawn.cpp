#include "os/spawn.hpp"

#include "os/pidfd.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cservice::os {
namespace {

// What the child reports through the error pipe when it cannot exec.
struct ChildFailure {
  int stage;  // index into kStages
  int err;
};
constexpr std::array<const char*, 5> kStages = {"prepare descriptors", "set parent-death signal",
                                                "chdir", "exec", "open /dev/null"};

// The RLIMIT_NOFILE this process started with, restored in children, if it was raised.
bool fd_limit_raised = false;
rlimit original_fd_limit{};

// The child runs on a stack of our own (see kChildStackSize), which the sanitizers do not know:
// their instrumentation of a no-return call would warn there. The code between clone and exec
// is short and makes only system calls, so it is left uninstrumented.
#define CSERVICE_CHILD_CODE __attribute__((no_sanitize("address", "undefined")))

[[noreturn]] CSERVICE_CHILD_CODE void child_fail(int errfd, int stage) noexcept {
  const ChildFailure failure{stage, errno};
  // A short or failed write leaves the parent reading EOF + exit status; nothing else to do.
  [[maybe_unused]] const ssize_t n = ::write(errfd, &failure, sizeof failure);
  ::_exit(127);
}

// Writes the decimal form of `value` at `out` (which has room for 12 chars) plus a NUL.
// Async-signal-safe: no allocation, no locale.
CSERVICE_CHILD_CODE void format_pid(char* out, pid_t value) noexcept {
  char digits[16];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && n < 15);
  while (n > 0) *out++ = digits[--n];
  *out = '\0';
}

// Runs in the child between clone and exec, in the master's memory (CLONE_VM) on its own
// stack: async-signal-safe calls only, no allocation, and nothing written that the master
// reads, except the pid digits prepared for it (LISTEN_PID, CSERVICE_WORKER_PID).
// Moves `fd` to a number >= `high`, close-on-exec.
CSERVICE_CHILD_CODE int lift(int fd, int high, int errfd) noexcept {
  const int lifted = ::fcntl(fd, F_DUPFD_CLOEXEC, high);
  if (lifted < 0) child_fail(errfd, 0);
  return lifted;
}

[[noreturn]] CSERVICE_CHILD_CODE void run_child(const SpawnSpec& spec, char* const* argv, char* const* envp,
                            char* const* pid_digits, pid_t master, int errfd, int devnull) noexcept {
  ::setpgid(0, 0);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(errfd, 1);
  // The master may have died before prctl took effect; then nobody would kill us later.
  if (::getppid() != master) ::_exit(1);

  // Signal dispositions: ignored signals (SIGPIPE in the master) survive exec, so reset all.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t empty;
  ::sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);

  // Descriptors: first move every source (and the error pipe) above the highest target, so
  // no dup2 below can overwrite a source that is still needed; then put each in place.
  const int count = static_cast<int>(spec.passed_fds.size());
  const int high = 3 + count;
  errfd = lift(errfd, high, errfd);
  const int in = lift(spec.stdin_fd >= 0 ? spec.stdin_fd : devnull, high, errfd);
  const int out = lift(spec.stdout_fd >= 0 ? spec.stdout_fd : devnull, high, errfd);
  const int err = lift(spec.stderr_fd >= 0 ? spec.stderr_fd : devnull, high, errfd);
  int sources[kMaxPassedFds];
  if (count > static_cast<int>(kMaxPassedFds)) child_fail(errfd, 0);
  for (int i = 0; i < count; ++i) {
    sources[i] = lift(spec.passed_fds[static_cast<std::size_t>(i)], high, errfd);
  }
  // dup2 clears close-on-exec on the target, so exactly these survive exec.
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) child_fail(errfd, 0);
  for (int i = 0; i < count; ++i) {
    if (::dup2(sources[i], 3 + i) < 0) child_fail(errfd, 0);
  }
  // Everything else closes at exec (the error pipe stays usable until then).
  if (::syscall(SYS_close_range, high, ~0U, CLOSE_RANGE_CLOEXEC) != 0) child_fail(errfd, 0);
  // Lowering the soft limit is always allowed, and leaves the master's own (rlimits are per
  // process even with CLONE_VM).
  if (fd_limit_raised) (void)::setrlimit(RLIMIT_NOFILE, &original_fd_limit);

  for (char* const* digits = pid_digits; *digits != nullptr; ++digits) {
    format_pid(*digits, ::getpid());
  }
  if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) child_fail(errfd, 2);
  ::execve(spec.program.c_str(), argv, envp);
  child_fail(errfd, 3);
}

// What the child needs, passed through clone()'s one argument.
struct ChildArgs {
  const SpawnSpec* spec;
  char* const* argv;
  char* const* envp;
  char* const* pid_digits;  // null-terminated
  pid_t master;
  int errfd;
  int devnull;
};

CSERVICE_CHILD_CODE int child_main(void* raw) {
  const auto* args = static_cast<const ChildArgs*>(raw);
  run_child(*args->spec, args->argv, args->envp, args->pid_digits, args->master,
            args->errfd, args->devnull);
}

// The child's own stack: with CLONE_VM it runs in the master's memory, and must not use the
// master's stack. Set-up and exec need little.
constexpr std::size_t kChildStackSize = 64 * 1024;

}  // namespace

Result<Child> spawn(const SpawnSpec& spec) {
  // Everything the child needs is built before clone: it may not allocate.
  std::vector<std::string> env = spec.env;
  const std::size_t first_pid_variable = env.size();
  for (const auto& name : spec.pid_variables) env.push_back(name + "=" + std::string(16, '\0'));
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (auto& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<char*> pid_digits;
  for (std::size_t i = 0; i < spec.pid_variables.size(); ++i) {
    pid_digits.push_back(env[first_pid_variable + i].data() + spec.pid_variables[i].size() + 1);
  }
  pid_digits.push_back(nullptr);

  std::string argv0 = spec.program;
  std::vector<std::string> args = spec.args;
  std::vector<char*> argv;
  argv.push_back(argv0.data());
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) return os_error("open /dev/null", errno);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return os_error("pipe", errno);
  UniqueFd error_read(pipe_fds[0]);
  UniqueFd error_write(pipe_fds[1]);

  // clone(CLONE_VM | CLONE_VFORK), as posix_spawn does, rather than fork(): no copy of the
  // master's page tables and no copy-on-write faults, and the master resumes only once the
  // child has exec'd (or failed). posix_spawn itself cannot set the parent-death signal.
  // Every signal stays blocked meanwhile, so no handler of the master runs in the child on the
  // shared memory; the child resets dispositions before it unblocks them.
  std::vector<char> stack(kChildStackSize);
  ChildArgs child_args{&spec, argv.data(), envp.data(), pid_digits.data(), ::getpid(),
                       error_write.get(), devnull.get()};
  sigset_t all;
  sigset_t previous;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  int pidfd_number = -1;
  const pid_t pid = ::clone(child_main, stack.data() + stack.size(),
                            CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD,
                            &child_args, &pidfd_number);
  const int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) return os_error(fmt::format("spawn {}: clone", spec.program), clone_errno);
  // The pidfd comes from clone itself, so it names this process and no other.
  UniqueFd pidfd(pidfd_number);
  error_write.reset();

  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(error_read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const char* stage = failure.stage >= 0 && failure.stage < static_cast<int>(kStages.size())
                            ? kStages[static_cast<std::size_t>(failure.stage)]
                            : "start";
    if (failure.stage == 3) return os_error(fmt::format("spawn {}", spec.program), failure.err);
    if (failure.stage == 2) {
      return os_error(fmt::format("spawn {}: chdir {}", spec.program, spec.cwd), failure.err);
    }
    return os_error(fmt::format("spawn {}: {}", spec.program, stage), failure.err);
  }
  return Child(Pid{pid}, std::move(pidfd));
}

Result<void> raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return os_error("getrlimit RLIMIT_NOFILE", errno);
  if (limit.rlim_cur >= limit.rlim_max) return {};
  const rlimit original = limit;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return os_error(fmt::format("raise the open file limit from {} to {}", original.rlim_cur,
                                limit.rlim_max),
                    errno);
  }
  if (!fd_limit_raised) original_fd_limit = original;
  fd_limit_raised = true;
  return {};
}

}  // namespace cservice::os
