// Standalone (no master), every call of the worker library is a harmless no-op.
#include <cservice/worker.hpp>

#include <cstdio>

int main() {
  const bool quiet = !cservice::is_worker() && !cservice::worker_ready() &&
                     !cservice::worker_status("ok") && cservice::listen_sockets().empty() &&
                     cservice::listen_fd() == -1;
  std::puts(quiet ? "standalone ok" : "unexpected");
  return quiet ? 0 : 1;
}
