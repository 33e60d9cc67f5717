#!/usr/bin/env bash
# Data-path overhead and master memory, with wrk on loopback.
#
#   bench/data_path.sh [build-dir=build/release] [seconds=10] [connections=64] [rounds=3]
#
# 1. hello_worker bound directly to a port (no supervisor), under wrk;
# 2. the same hello_worker under cservice (--workers 1, the master holding the socket), same wrk;
#    the ratio of requests/s is the data-path cost of supervision (goal >= 0.98);
# 3. cservice with 4 hello workers: the master's resident memory (VmRSS, goal <= 5 MB).
# Every process started here is stopped here, by pid.
set -euo pipefail
build=${1:-build/release}
seconds=${2:-10}
connections=${3:-64}
rounds=${4:-3}
cservice="$build/src/cservice"
worker="$build/examples/hello_worker"
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/setup.sh installs it)"; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 200); do curl -fs "http://127.0.0.1:$1/" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "no answer on port $1"; return 1; }
rps() { wrk -t2 -c"$connections" -d"${seconds}s" "http://127.0.0.1:$1/" | awk '/Requests\/sec/ {print $2}'; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Alternate direct and supervised runs, so warm-up and drift hit both alike; report medians.
direct_runs=()
supervised_runs=()
for round in $(seq "$rounds"); do
  port=$(free_port)
  "$worker" --port "$port" & pids+=($!)
  wait_http "$port"
  direct_runs+=("$(rps "$port")")
  kill -TERM "${pids[-1]}"; wait "${pids[-1]}" || true; unset 'pids[-1]'

  port=$(free_port)
  "$cservice" --workers 1 --listen "127.0.0.1:$port" --silent "$worker" 2>/dev/null & pids+=($!)
  wait_http "$port"
  supervised_runs+=("$(rps "$port")")
  kill -TERM "${pids[-1]}"; wait "${pids[-1]}" || true; unset 'pids[-1]'
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
direct=$(median "${direct_runs[@]}")
supervised=$(median "${supervised_runs[@]}")

port=$(free_port)
"$cservice" --workers 4 --listen "127.0.0.1:$port" --silent "$worker" 2>/dev/null & master=$!; pids+=($master)
wait_http "$port"
sleep 1  # let all four workers start
rss=$(awk '/VmRSS/ {print $2}' "/proc/$master/status")
worker_rss=$(for c in $(cat /proc/$master/task/*/children); do awk '/VmRSS/ {print $2}' /proc/$c/status; done | sort -n | tail -1)
kill -TERM "$master"; wait "$master" || true; unset 'pids[-1]'

echo "wrk -t2 -c$connections -d${seconds}s, hello_worker, 1 worker process, median of $rounds alternating rounds"
echo "  direct (no supervisor):   $direct requests/s   (runs: ${direct_runs[*]})"
echo "  under cservice:           $supervised requests/s   (runs: ${supervised_runs[*]})"
echo "  ratio:                    $(python3 -c "print(f'{$supervised/$direct:.3f}')")"
echo "cservice master with 4 workers: VmRSS $rss kB (largest worker: $worker_rss kB)"
