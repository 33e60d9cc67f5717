#!/bin/sh
# Installs every Debian 12 package cservice needs to build, test, benchmark and run its demo.
# Run as root (or with sudo available). Safe to run again.
set -eu
packages="build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-url1.81-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  prometheus-cpp-dev
  libssl-dev openssl
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-yaml curl wrk hyperfine
  systemd logrotate prometheus
  clang-14 libfuzzer-14-dev"
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  as_root apt-get update -q
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
echo "setup: all packages present"
