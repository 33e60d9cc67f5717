#!/bin/sh
# Builds cservice (release) and runs the demo service: 4 example HTTP workers sharing port 8080.
#   curl localhost:8080        answers "hello from pid N", from several pids
#   kill -9 <a worker pid>     is replaced after restartDelayMs (100 ms)
#   Ctrl-C                     stops every worker gracefully (twice: at once)
set -eu
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target cservice hello_worker
exec build/release/src/cservice --workers "${WORKERS:-4}" --listen "${PORT:-8080}" \
  build/release/examples/hello_worker
