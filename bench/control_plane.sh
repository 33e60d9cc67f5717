#!/usr/bin/env bash
# Control-plane figures, on loopback:
#   1. CLI round trip: `cservice workers` as a new process each time (hyperfine; goal <= 5 ms
#      median);
#   2. REST `workers` requests per second on one keep-alive connection (wrk -c1);
#   3. the data path during rolling restarts: wrk --latency on the hello workers' port while
#      `restart all` runs back to back; failed requests (socket errors, non-2xx) and p99.
#
#   bench/control_plane.sh [build-dir=build/release] [seconds=10]
# Every process started here is stopped here, by pid.
set -euo pipefail
build=${1:-build/release}
seconds=${2:-10}
cservice="$build/src/cservice"
worker="$build/examples/hello_worker"
key=bench-key
for tool in wrk hyperfine curl; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (scripts/setup.sh installs it)"; exit 2; }
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api=$(free_port)
data=$(free_port)
"$cservice" --workers 4 --listen "127.0.0.1:$data" --access-key "$key" --host 127.0.0.1 \
  --port "$api" --allow-http-get true --silent "$worker" 2>/dev/null &
master=$!
trap 'kill -TERM $master 2>/dev/null || true; wait $master 2>/dev/null || true' EXIT
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$data/" >/dev/null 2>&1 && break; sleep 0.05; done

echo "== CLI round trip: cservice workers (new process each run)"
hyperfine --warmup 20 --runs 300 -N \
  "$cservice workers --access-key $key --host 127.0.0.1 --port $api" 2>&1 | grep -E "Time|Range"

echo "== REST workers on one connection (wrk -t1 -c1 -d${seconds}s)"
wrk -t1 -c1 -d"${seconds}s" -H "Authorization: Bearer $key" \
  "http://127.0.0.1:$api/cli?cmd=workers" | grep -E "Requests/sec|Non-2xx|Socket errors" || true

echo "== data path during rolling restarts (wrk -t2 -c64 -d${seconds}s --latency)"
( end=$((SECONDS + seconds)); n=0
  while [ $SECONDS -lt $end ]; do
    "$cservice" "restart all" --access-key "$key" --host 127.0.0.1 --port "$api" >/dev/null; n=$((n+1))
  done; echo "restarts of all 4 workers completed during the run: $n" ) &
restarts=$!
wrk -t2 -c64 -d"${seconds}s" --latency "http://127.0.0.1:$data/" |
  grep -E "Requests/sec|requests in|Non-2xx|Socket errors|99%|50%" || true
wait $restarts
