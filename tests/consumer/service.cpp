// An out-of-tree library-mode program built against the installed package: it starts a
// service of one worker (itself), asks for `workers` from its own code once the worker runs,
// then shuts the service down, and says what it saw.
#include <unistd.h>

#include <cservice/service.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

int main() {
  if (cservice::is_worker()) {
    cservice::on_stop([] { std::_Exit(0); });
    cservice::worker_ready();
    for (;;) ::pause();
  }
  static std::string seen = "nothing";
  cservice::on("workerStart", [](const cservice::Event&) {
    cservice::trigger("workers", [](const cservice::Answer& answer) {
      seen =
          answer.ok() ? std::to_string(answer.result["workers"].size()) + " worker" : answer.error;
      cservice::trigger("shutdown", nullptr, "all");
    });
  });
  const int status = cservice::start({{"workerCount", 1}, {"cli", false}, {"silent", true}});
  std::printf("library mode ok: %s, exit %d\n", seen.c_str(), status);
  return status;
}
