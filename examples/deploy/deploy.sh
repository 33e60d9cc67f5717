#!/bin/sh
# deploy.sh BUILD_DIR: ships one build of an app to a machine where cservice runs it, and
# upgrades the running service to it, gated by the build's own smoke test and a bake period.
# Run it on that machine (from a CI job: over ssh, after copying BUILD_DIR there).
#
#   APP_ROOT        where releases live (default /srv/app):
#                     releases/<id>/   one directory per build, never written to once shipped
#                     current          a symbolic link to the release that serves
#   RELEASE_ID      the new release's name (default: the time, UTC, as 20261128T140502Z)
#   CSERVICE_PORT, CSERVICE_ACCESS_KEY
#                   the running service's control port (default 11987) and key
#   MONITOR_MS      how long the first new worker is watched before the test (default 5000)
#   BAKE_MS         how long the whole new fleet is watched at the end (default 60000)
#   TEST_TIMEOUT_MS the smoke test's time limit (default 120000)
#   APP_URL         where the app answers, for the smoke test (default http://127.0.0.1:8080/)
#
# The build holds `server` (the program cservice runs) and `smoke.sh` (a test run while the
# first new worker serves beside the old ones; exit 0 passes). Exit status: 0 deployed; 1 the
# upgrade failed and the service rolled itself back (its answer, on stderr, says at which stage
# and why); 2 bad usage or the upload failed.
set -eu

build=${1:?usage: deploy.sh BUILD_DIR}
root=${APP_ROOT:-/srv/app}
id=${RELEASE_ID:-$(date -u +%Y%m%dT%H%M%SZ)}
release="$root/releases/$id"
port=${CSERVICE_PORT:-11987}
key=${CSERVICE_ACCESS_KEY:?set CSERVICE_ACCESS_KEY}

[ -x "$build/server" ] || { echo "deploy: $build/server is not an executable" >&2; exit 2; }
[ ! -e "$release" ] || { echo "deploy: release $id exists already" >&2; exit 2; }

# 1. Upload: into a directory of its own, renamed into place once complete.
mkdir -p "$root/releases"
cp -R "$build" "$release.partial" || exit 2
mv "$release.partial" "$release"

# 2. Re-point `current` atomically (a new link renamed over the old one). The workers that run
#    keep their own release: cservice resolved the link when they were started.
previous=$(readlink "$root/current" || true)
repoint() {
  ln -sfn "$1" "$root/current.next" && mv -T "$root/current.next" "$root/current"
}
repoint "$release"

# 3. Upgrade, gated. The command answers when the upgrade is over: done, or rolled back.
options=$(printf '{"test": "%s", "testArgs": ["%s"], "testTimeout": %s, "monitor": %s, "bake": %s}' \
  "$release/smoke.sh" "${APP_URL:-http://127.0.0.1:8080/}" "${TEST_TIMEOUT_MS:-120000}" \
  "${MONITOR_MS:-5000}" "${BAKE_MS:-60000}")
if cservice --port "$port" --access-key "$key" --run "upgrade all $root/current/server $options"
then
  echo "deploy: release $id serves (previous: ${previous:-none})"
  exit 0
fi
# The service is back on what served before; so is `current`, so that a restart of the service
# itself runs it too.
if [ -n "$previous" ]; then repoint "$previous"; fi
echo "deploy: release $id failed; the service went back to ${previous:-its previous program}" >&2
exit 1
