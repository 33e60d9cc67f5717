#!/bin/sh
# A directory command in shell: `load` answers the machine's load averages as JSON.
# Its arguments arrive as "$@"; what it prints on stdout is the answer; exit 0 is success.
set -eu
read -r one five fifteen _ < /proc/loadavg
printf '{"load1": %s, "load5": %s, "load15": %s}\n' "$one" "$five" "$fifteen"
