#!/usr/bin/env bash
# The master's resident memory (VmRSS) with 10, 100 and 1,000 silent workers (/bin/sleep, ready
# as soon as started), for each cservice binary given: what the output relays and the rest of
# the per-worker state cost while nobody writes anything.
#
#   bench/relay_memory.sh [cservice...]     (default: build/release/src/cservice)
#
# Output relaying stays on (no --silent): each worker has its two pipes and relays. stdout and
# stderr go to /dev/null. RSS is read once every worker runs and the master has been idle for a
# second. Every process started here is stopped here, by pid.
set -euo pipefail
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=(build/release/src/cservice)
counts=(10 100 1000)
# A worker holds a pidfd and two pipes in the master: 1,000 need more than 1,024 descriptors
# (a master that does not raise its own limit needs it raised here).
ulimit -n "$(ulimit -Hn)"

children() { cat "/proc/$1/task/$1/children" 2>/dev/null | wc -w; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

printf '%-48s' "binary \\ workers"; printf '%12s' "${counts[@]}"; echo
for binary in "${binaries[@]}"; do
  printf '%-48s' "$binary"
  for n in "${counts[@]}"; do
    "$binary" --workers "$n" --ready started --restart-on-failure false /bin/sleep -- 100000 \
      >/dev/null 2>&1 &
    master=$!
    for _ in $(seq 600); do [ "$(children $master)" -ge "$n" ] && break; sleep 0.1; done
    sleep 1
    started=$(children $master)
    rss=$(rss_kib $master)
    kill -TERM $master
    wait $master || true
    [ "$started" -ge "$n" ] || rss="$rss(only $started)"
    printf '%12s' "$rss KiB"
  done
  echo
done
