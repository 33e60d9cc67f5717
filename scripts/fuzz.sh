#!/bin/sh
# Builds the libFuzzer harnesses (preset fuzz: clang 14, ASan + UBSan; see fuzz/CMakeLists.txt)
# and runs each in turn for SECONDS (default 30), starting from its seed corpus fuzz/corpus/NAME
# (so every seed, including each past crash, is run again first). Inputs the fuzzer adds go to
# build/fuzz/runs/NAME/corpus, crash artifacts and logs to build/fuzz/runs/NAME/: never into the
# tree. Stops at the first crash, leak, time-out or sanitizer report, showing its log.
#
#   scripts/fuzz.sh [SECONDS] [NAME...]      e.g. scripts/fuzz.sh 600 http
#
# Names: command_line notify worker_channel config flags http. A new crash: fix it, add the
# artifact to fuzz/corpus/NAME and a unit test, as for any bug.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-30}
[ $# -gt 0 ] && shift
names=${*:-"command_line notify worker_channel config flags http"}

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

runs=build/fuzz/runs
for name in $names; do
  binary=build/fuzz/fuzz/${name}_fuzzer
  [ -x "$binary" ] || { echo "fuzz: no harness $name" >&2; exit 2; }
  mkdir -p "$runs/$name/corpus"
  set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$runs/$name/"
  [ -f "fuzz/$name.dict" ] && set -- "$@" -dict="fuzz/$name.dict"
  case $name in
    http) set -- "$@" -max_len=12288 ;;    # past the 8 KiB header limit
    notify) set -- "$@" -max_len=4608 ;;   # past the 4 KiB datagram limit
  esac
  log=$runs/$name/log
  if ! "$binary" "$@" "$runs/$name/corpus" "fuzz/corpus/$name" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz: $name FAILED; artifacts and the full log in $runs/$name/" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -n 1 | sed -n 's/.*\(cov: [0-9]* ft: [0-9]* corp: [^ ]*\).*/\1/p')
  echo "fuzz: $name ok: $execs runs in ${seconds}s ($rate/s), $cov"
done
