// main() of the integration tests: the test process becomes a child subreaper, so a worker
// whose master died is reparented to us, where IntegrationTest's leak check finds it.
#include <gtest/gtest.h>

#include <csignal>
#include <sys/prctl.h>

int main(int argc, char** argv) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::signal(SIGPIPE, SIG_IGN);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
