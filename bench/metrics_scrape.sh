#!/usr/bin/env bash
# Cost of a Prometheus scrape on the master: N scrapes of GET /metrics (one connection each, as
# Prometheus makes them with the bearer key) against a master running W hello workers. Prints
# the wall time per scrape as the client sees it, the master's CPU time per scrape (from
# /proc/PID/stat utime+stime, before and after), and the size of one scrape. Then the same for
# GET /readyz.
#
#   bench/metrics_scrape.sh [build-dir=build/release] [workers=64] [scrapes=2000]
# Every process started here is stopped here, by pid.
set -euo pipefail
build=${1:-build/release}
workers=${2:-64}
scrapes=${3:-2000}
cservice="$build/src/cservice"
worker="$build/examples/hello_worker"
key=bench-key
for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (scripts/setup.sh installs it)"; exit 2; }
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api=$(free_port)
data=$(free_port)
"$cservice" --workers "$workers" --listen "127.0.0.1:$data" --access-key "$key" --host 127.0.0.1 \
  --port "$api" --silent "$worker" 2>/dev/null &
master=$!
trap 'kill -TERM $master 2>/dev/null || true; wait $master 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  curl -fs "http://127.0.0.1:$api/readyz" >/dev/null 2>&1 && break; sleep 0.05
done
curl -fs "http://127.0.0.1:$api/readyz" >/dev/null || { echo "the service did not get ready"; exit 1; }

# One Python client, new connection per request (as a scraper), so the client's own start-up is
# not in the figures. Prints the wall seconds of the loop.
scrape_loop() {
  python3 - "$api" "$1" "$scrapes" "$key" <<'PY'
import http.client, sys, time
port, path, n, key = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
start = time.perf_counter()
for _ in range(n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", path, headers={"Authorization": "Bearer " + key})
    r = c.getresponse(); body = r.read(); c.close()
    assert r.status == 200, r.status
print(time.perf_counter() - start)
PY
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$master/stat"; }
hz=$(getconf CLK_TCK)

for path in /metrics /readyz; do
  before=$(cpu_ticks)
  wall=$(scrape_loop "$path")
  after=$(cpu_ticks)
  size=$(curl -fs -H "Authorization: Bearer $key" "http://127.0.0.1:$api$path" | wc -c)
  python3 - "$path" "$workers" "$scrapes" "$wall" "$before" "$after" "$hz" "$size" <<'PY'
import sys
path, w, n, wall, b, a, hz, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
print(f"{path}: {w} workers, {n} requests: {wall / n * 1e3:.3f} ms per request (client wall), "
      f"master CPU {(a - b) / hz / n * 1e3:.3f} ms per request, {size} bytes")
PY
done
