#!/bin/sh
# A worker that fails: it starts, says so, and exits with status 1 after a moment.
# Run it to watch cservice restart it after restartDelayMs, then stop at restartsPerMinute:
#   cservice --workers 1 --restarts-per-minute 3 examples/crashing_worker.sh
echo "crashing worker $CSERVICE_WORKER_ID starting"
sleep "${CRASH_AFTER_SECONDS:-0.2}"
echo "crashing worker $CSERVICE_WORKER_ID: something went wrong" >&2
exit 1
