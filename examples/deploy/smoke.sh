#!/bin/sh
# smoke.sh [APP_URL]: the gate of deploy.sh, shipped inside each build. cservice runs it on its
# own machine while the first worker of the new build serves beside the old ones, with
# CSERVICE_URL, CSERVICE_PORT and CSERVICE_ACCESS_KEY of the service in its environment (and
# the master's own); exit 0 lets the upgrade go on.
#
# APP_URL is where the app itself answers (default http://127.0.0.1:8080/). Requests are spread
# over every worker, the new one among them: each must succeed.
set -eu
url=${1:-http://127.0.0.1:8080/}
for i in $(seq 1 ${SMOKE_REQUESTS:-50}); do
  curl -fsS --max-time 5 -o /dev/null "$url" || { echo "request $i to $url failed"; exit 1; }
done
# The service itself must still be healthy with the new worker in it.
curl -fsS -d "" -H "Authorization: Bearer $CSERVICE_ACCESS_KEY" "$CSERVICE_URL?cmd=health"
echo
