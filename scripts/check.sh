#!/bin/sh
# Builds and runs the whole test suite: the debug build, then the ASan+UBSan build, then the
# release build (which also builds the benchmarks), then each fuzz harness for 30 seconds
# (scripts/fuzz.sh). Stops at the first failure.
set -eu
cd "$(dirname "$0")/.."
for preset in dev asan release; do
  echo "=== $preset ==="
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset"
done
echo "=== fuzz ==="
scripts/fuzz.sh 30
