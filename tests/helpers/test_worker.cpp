// test_worker: one worker binary whose arguments pick a behaviour, for the integration tests.
//
//   --ready-after MS     send READY=1 after MS milliseconds (default: never says anything)
//   --never-ready        say STATUS=booting (so `auto` waits for READY=1) and never READY=1
//   --status TEXT        say STATUS=TEXT at once
//   --crash-after MS     exit 1 after MS milliseconds
//   --ignore-sigterm     survive the stop signal (only SIGKILL ends it)
//   --burst N            write N numbered lines to stdout, then abort() at once
//   --flood N            write N numbered lines ("flood line I") to stdout as fast as it can
//                        (0: forever), then go on as without it; each write() holds whole lines
//                        and at most PIPE_BUF bytes, so a kill never leaves half a line
//   --flood-pause-us US  with --flood: pause US microseconds after each write (a steady stream)
//   --print-env          print the worker contract it sees (variables, open fds)
//   --notify-garbage     send an oversized, a NUL-containing and an unknown datagram first
//   --notify-flood MS    send malformed (NUL-containing) datagrams as fast as it can for MS
//                        milliseconds, then print "notify flood: N datagrams"
//   --stray-child        leave a child process in its group that sleeps forever
//   --crash-if-worker N  only the worker whose CSERVICE_WORKER_ID is N crashes: at --crash-after
//                        MS if given, else 100 ms after its READY=1 (--ready-after); the others
//                        ignore --crash-after. A build that fails on one worker only.
//   --exit-delay MS      on the stop signal, exit 0 only MS milliseconds later (a slow drain)
//   --setsid-child       leave a child that calls setsid() (leaving the worker's process group
//                        and session) and sleeps; it prints "descendant pid N" once it has
//   --daemon-child       the same through a daemon's double fork: the grandchild, in a session
//                        of its own, sleeps and prints "descendant pid N"; its parent exits
// Without --crash-after it runs until SIGTERM/SIGINT and exits 0.

#include <cservice/worker.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <string>
#include <string_view>
#include <unistd.h>

namespace {

long long now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void print_env() {
  for (const char* name : {"NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                           "CSERVICE_WORKER_ID", "CSERVICE_WORKER_GROUP", "CSERVICE_STOP_SIGNAL",
                           "CSERVICE_CONTROL_SOCKET", "TEST_EXTRA"}) {
    const char* value = std::getenv(name);
    std::printf("env %s=%s\n", name, value != nullptr ? value : "(unset)");
  }
  std::printf("pid=%d\n", ::getpid());
  char cwd[4096];
  std::printf("cwd=%s\n", ::getcwd(cwd, sizeof cwd) != nullptr ? cwd : "?");
  std::string fds;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    const int own = ::dirfd(dir);
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] == '.' || std::atoi(entry->d_name) == own) continue;
      fds += fds.empty() ? "" : ",";
      fds += entry->d_name;
    }
    ::closedir(dir);
  }
  std::printf("fds=%s\n", fds.c_str());
  for (const auto& socket : cservice::listen_sockets()) {
    std::printf("socket %s=%d\n", socket.name.c_str(), socket.fd);
  }
  std::fflush(stdout);
}

void notify_garbage() {
  cservice::notify(std::string(8192, 'X'));                       // oversized
  cservice::notify(std::string_view("READY=1\0junk", 12));        // contains NUL: dropped whole
  cservice::notify("HELLO=world\nno equals sign here\nREADY=maybe");  // unknown: ignored
}

void notify_flood(long long ms) {
  const long long until = now_ms() + ms;
  long sent = 0;
  while (now_ms() < until) {
    if (cservice::notify(std::string_view("READY=1\0junk", 12))) ++sent;
  }
  std::printf("notify flood: %ld datagrams\n", sent);
  std::fflush(stdout);
}

// Prints this process's pid as "descendant pid N", then becomes a long sleep (same pid).
[[noreturn]] void report_and_sleep() {
  std::printf("descendant pid %d\n", ::getpid());
  std::fflush(stdout);
  ::execl("/bin/sleep", "sleep", "100000", static_cast<char*>(nullptr));
  ::_exit(127);
}

void escaped_child(bool double_fork) {
  std::fflush(stdout);
  if (::fork() != 0) return;
  ::setsid();
  if (double_fork && ::fork() != 0) ::_exit(0);  // the daemon's parent leaves at once
  report_and_sleep();
}

// Writes "flood line N" for N = 1..lines (forever if 0), in batches of at most PIPE_BUF bytes
// (each write whole), pausing `pause_us` microseconds after each batch.
void flood_stdout(long lines, long pause_us) {
  char batch[PIPE_BUF];
  std::size_t used = 0;
  const auto write_batch = [&] {
    for (std::size_t done = 0; done < used;) {
      const ssize_t n = ::write(STDOUT_FILENO, batch + done, used - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) std::exit(3);
      done += static_cast<std::size_t>(n);
    }
    used = 0;
    if (pause_us > 0) ::usleep(static_cast<useconds_t>(pause_us));
  };
  for (long i = 1; lines == 0 || i <= lines; ++i) {
    char line[64];
    const int length = std::snprintf(line, sizeof line, "flood line %ld\n", i);
    if (used + static_cast<std::size_t>(length) > sizeof batch) write_batch();
    std::memcpy(batch + used, line, static_cast<std::size_t>(length));
    used += static_cast<std::size_t>(length);
  }
  write_batch();
}

}  // namespace

int main(int argc, char** argv) {
  long long ready_after = -1;
  long long crash_after = -1;
  long burst = 0;
  long flood = -1;
  long flood_pause_us = 0;
  bool ignore_sigterm = false;
  long long exit_delay = -1;
  int crash_if_worker = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : "0";
    if (arg == "--ready-after") { ready_after = std::atoll(next); ++i; }
    else if (arg == "--crash-after") { crash_after = std::atoll(next); ++i; }
    else if (arg == "--burst") { burst = std::atol(next); ++i; }
    else if (arg == "--flood") { flood = std::atol(next); ++i; }
    else if (arg == "--flood-pause-us") { flood_pause_us = std::atol(next); ++i; }
    else if (arg == "--never-ready") cservice::worker_status("booting");
    else if (arg == "--status") { cservice::worker_status(next); ++i; }
    else if (arg == "--ignore-sigterm") ignore_sigterm = true;
    else if (arg == "--exit-delay") { exit_delay = std::atoll(next); ++i; }
    else if (arg == "--crash-if-worker") { crash_if_worker = std::atoi(next); ++i; }
    else if (arg == "--setsid-child") escaped_child(/*double_fork=*/false);
    else if (arg == "--daemon-child") escaped_child(/*double_fork=*/true);
    else if (arg == "--print-env") print_env();
    else if (arg == "--notify-garbage") notify_garbage();
    else if (arg == "--notify-flood") { notify_flood(std::atoll(next)); ++i; }
    else if (arg == "--stray-child") {
      if (::fork() == 0) {
        ::execl("/bin/sleep", "sleep", "1000", static_cast<char*>(nullptr));
        ::_exit(127);
      }
    } else {
      std::fprintf(stderr, "test_worker: unknown argument %s\n", argv[i]);
      return 2;
    }
  }

  if (burst > 0) {
    for (long i = 1; i <= burst; ++i) std::printf("burst line %ld of %ld\n", i, burst);
    std::fflush(stdout);
    std::abort();
  }

  if (flood >= 0) flood_stdout(flood, flood_pause_us);

  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGTERM);
  ::sigaddset(&set, SIGINT);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);

  if (crash_if_worker != 0) {
    if (crash_if_worker != cservice::worker_id()) {
      crash_after = -1;
    } else if (crash_after < 0) {
      crash_after = std::max(ready_after, 0LL) + 100;
    }
  }

  const long long start = now_ms();
  bool ready_sent = false;
  long long exit_at = -1;  // since start: when the slow exit asked for by --exit-delay is due
  for (;;) {
    long long wait = 60'000;
    const long long elapsed = now_ms() - start;
    if (exit_at >= 0) {
      if (elapsed >= exit_at) {
        std::printf("test_worker: exiting %lld ms after the stop signal\n", exit_delay);
        return 0;
      }
      wait = std::min(wait, exit_at - elapsed);
    }
    if (ready_after >= 0 && !ready_sent) {
      if (elapsed >= ready_after) {
        cservice::worker_ready();
        ready_sent = true;
      } else {
        wait = std::min(wait, ready_after - elapsed);
      }
    }
    if (crash_after >= 0) {
      if (elapsed >= crash_after) {
        std::fprintf(stderr, "test_worker: crashing as asked\n");
        return 1;
      }
      wait = std::min(wait, crash_after - elapsed);
    }
    timespec timeout{static_cast<time_t>(wait / 1000), static_cast<long>(wait % 1000) * 1000000};
    const int signal = ::sigtimedwait(&set, nullptr, &timeout);
    if (signal == SIGTERM || signal == SIGINT) {
      if (ignore_sigterm) {
        std::printf("test_worker: ignoring %s\n", signal == SIGTERM ? "SIGTERM" : "SIGINT");
        std::fflush(stdout);
        continue;
      }
      if (exit_delay >= 0) {
        if (exit_at < 0) exit_at = now_ms() - start + exit_delay;
        continue;
      }
      return 0;
    }
  }
}
