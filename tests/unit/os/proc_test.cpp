// Readings of /proc about processes: parents, users and start times, of this process and of a
// child it starts.

#include "os/proc.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <csignal>
#include <unistd.h>

#include <algorithm>

namespace cservice::os {
namespace {

TEST(ProcTest, ReadsParentAndUserOfThisProcess) {
  EXPECT_EQ(parent_of(Pid{::getpid()}), Pid{::getppid()});
  EXPECT_EQ(effective_uid(Pid{::getpid()}), ::geteuid());
  EXPECT_TRUE(start_ticks(Pid{::getpid()}).has_value());
}

TEST(ProcTest, ReadsAChildAndForgetsItOnceReaped) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  const Pid pid{child};
  EXPECT_EQ(parent_of(pid), Pid{::getpid()});
  EXPECT_EQ(effective_uid(pid), ::geteuid());
  const auto children = own_children();
  EXPECT_NE(std::find(children.begin(), children.end(), pid), children.end());
  const auto born = start_ticks(pid);
  ASSERT_TRUE(born);
  EXPECT_GE(*born, *start_ticks(Pid{::getpid()}));

  ::kill(child, SIGKILL);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_EQ(parent_of(pid), std::nullopt);
  EXPECT_EQ(effective_uid(pid), std::nullopt);
}

}  // namespace
}  // namespace cservice::os
