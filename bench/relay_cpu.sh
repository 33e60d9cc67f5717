#!/usr/bin/env bash
# The master's CPU time to relay a worker's output: one test_worker writes N short lines
# ("flood line I", as fast as it can), the master relays them to a reader that waits for the
# last one; then the master's user + system time is read from /proc. Escaped (the default) and
# --raw-output, alternating, `rounds` times each.
#
#   bench/relay_cpu.sh [build-dir=build/release] [lines=3000000] [rounds=3]
#
# Every process started here is stopped here, by pid.
set -euo pipefail
build=${1:-build/release}
lines=${2:-3000000}
rounds=${3:-3}
cservice="$build/src/cservice"
worker="$build/tests/test_worker"
dir=$(mktemp -d)
master=
cleanup() {
  [ -n "$master" ] && { kill -TERM "$master" 2>/dev/null || true; wait "$master" 2>/dev/null || true; }
  rm -rf "$dir"
}
trap cleanup EXIT
ticks=$(getconf CLK_TCK)

# Prints the master's CPU seconds once the last line has been read.
cpu_seconds() {
  mkfifo "$dir/out"
  "$cservice" --workers 1 --restart-on-failure false "$@" "$worker" -- --flood "$lines" \
    >"$dir/out" 2>/dev/null &
  master=$!
  grep -m1 -q "flood line $lines\$" <"$dir/out"
  awk -v t="$ticks" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$master/stat"
  kill -TERM "$master"; wait "$master" 2>/dev/null || true; master=
  rm -f "$dir/out"
}

escaped=()
raw=()
for _ in $(seq "$rounds"); do
  escaped+=("$(cpu_seconds)")
  raw+=("$(cpu_seconds --raw-output)")
done
echo "master CPU seconds to relay $lines lines of test_worker --flood"
echo "  escaped (default): ${escaped[*]}"
echo "  --raw-output:      ${raw[*]}"
