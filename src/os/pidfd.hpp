#pragma once
// glibc 2.36 (Debian 12) ships <sys/pidfd.h> without extern "C".
extern "C" {
#include <sys/pidfd.h>
}
