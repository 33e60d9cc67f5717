#!/usr/bin/env bash
# The master's cost of 100 followers of GET /events: its CPU time and memory while events flow
# (a `restart all` of 16 workers, repeated), with no follower and with 100 (curl -N, each
# reading into /dev/null).
#
#   bench/events_followers.sh [cservice] [rounds]   (default: build/release/src/cservice, 10)
#
# CPU is the master's utime+stime (/proc/PID/stat) over the rounds; memory its VmRSS after the
# rounds and its VmHWM (peak). Each round of 16 workers publishes about 66 events (a start,
# ready, stopping and exit per worker, the operation's progress, the command). Every process
# started here is stopped here, by pid.
set -euo pipefail
binary=${1:-build/release/src/cservice}
rounds=${2:-10}
key=bench-events-key
ticks=$(getconf CLK_TCK)

cpu_ms() { awk -v t="$ticks" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / t) }' "/proc/$1/stat"; }
status_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

run() {
  local followers=$1 port log
  log=$(mktemp)
  "$binary" --workers 16 --ready started --access-key "$key" --host 127.0.0.1 --port 0 \
    /bin/sleep -- 100000 >"$log" 2>&1 &
  local master=$!
  for _ in $(seq 100); do
    port=$(sed -n 's|.*REST API on http://127.0.0.1:\([0-9]*\)/cli.*|\1|p' "$log" | head -1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  local pids=()
  for _ in $(seq "$followers"); do
    curl -sN -H "Authorization: Bearer $key" "http://127.0.0.1:$port/events" >/dev/null &
    pids+=($!)
  done
  for _ in $(seq 100); do
    [ "$(grep -c 'following events' "$log")" -ge "$followers" ] && break
    sleep 0.1
  done
  local before after events
  before=$(cpu_ms $master)
  for _ in $(seq "$rounds"); do
    "$binary" "restart all" --access-key "$key" --host 127.0.0.1 --port "$port" >/dev/null
  done
  after=$(cpu_ms $master)
  events=$(grep -c ' event ' "$log" || true)
  printf '%-10s %10s %12s %14s %14s\n' "$followers" "$events" "$((after - before)) ms" \
    "$(status_kib $master VmRSS) KiB" "$(status_kib $master VmHWM) KiB"
  kill -TERM $master
  wait $master || true
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  rm -f "$log"
}

printf '%-10s %10s %12s %14s %14s\n' followers events "master CPU" "RSS after" "peak RSS"
run 0
run 100
