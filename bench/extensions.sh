#!/usr/bin/env bash
# Figures for what extends a service, on loopback, with the library-mode example
# (examples/library_service) serving 2 workers:
#   1. a custom command from code (`greet`) and the built-in `version` over REST (wrk -c1);
#   2. a directory command (`load`, a shell script: one process per call) over REST (wrk -c1);
#   3. a worker calling its master: the example's `/workers` page (the worker asks the master
#      for `workers` over the worker channel) against its plain `/` page (wrk -c1).
#
#   bench/extensions.sh [build-dir=build/release] [seconds=10]
# Every process started here is stopped here, by pid.
set -euo pipefail
build=${1:-build/release}
seconds=${2:-10}
service="$build/examples/library_service"
key=bench-key
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/setup.sh installs it)"; exit 2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api=$(free_port)
data=$(free_port)
options=$(printf '{"accessKey":"%s","host":"127.0.0.1","port":%s,"listen":"127.0.0.1:%s","workerCount":2,"allowHttpGet":true,"silent":true,"cli":false,"commands":"%s","control":{"workers":"remote"}}' \
  "$key" "$api" "$data" "$build/examples/commands")
"$service" "$options" 2>/dev/null >/dev/null &
master=$!
trap 'kill -TERM $master 2>/dev/null || true; wait $master 2>/dev/null || true' EXIT
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$data/" >/dev/null 2>&1 && break; sleep 0.05; done

run() {  # run <title> <url>
  echo "== $1 (wrk -t1 -c1 -d${seconds}s)"
  wrk -t1 -c1 -d"${seconds}s" --latency "$2" | grep -E "Requests/sec|Non-2xx|Socket errors|^ +50%|^ +99%" || true
}
run "REST built-in: version" "http://127.0.0.1:$api/cli?cmd=version&accessKey=$key"
run "REST custom command from code: greet" "http://127.0.0.1:$api/cli?cmd=greet&accessKey=$key"
run "REST directory command: load (a shell script per call)" "http://127.0.0.1:$api/cli?cmd=load&accessKey=$key"
run "worker page without the master: /" "http://127.0.0.1:$data/"
run "worker page asking the master for workers: /workers" "http://127.0.0.1:$data/workers"
