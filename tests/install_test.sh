#!/bin/sh
# Installs the build into a temporary prefix, then builds tests/consumer against it: with CMake's
# find_package(cservice) (the worker library, and a library-mode service) and with pkg-config
# (the worker library), and runs what it built. Prints "install test ok" when all is well.
# Usage: install_test.sh <build-dir> <src-dir>
set -eu
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# expect <what> <expected stdout> <command...>: runs the command, fails loudly on other output.
expect() {
  what=$1 expected=$2
  shift 2
  if ! out=$("$@" 2>"$work/stderr") || [ "$out" != "$expected" ]; then
    echo "$what: expected '$expected', got '$out'; stderr:" >&2
    cat "$work/stderr" >&2
    exit 1
  fi
}
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
expect "worker library (find_package)" "standalone ok" "$work/consumer/consumer"
expect "library mode (find_package)" "library mode ok: 1 worker, exit 0" \
  "$work/consumer/consumer_service"
pc="$(find "$work/prefix" -name cservice-worker.pc)"
# shellcheck disable=SC2046
c++ -std=c++20 "$src/tests/consumer/main.cpp" -o "$work/pkgconfig-consumer" \
  $(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --cflags --libs cservice-worker)
expect "worker library (pkg-config)" "standalone ok" "$work/pkgconfig-consumer"
echo "install test ok"
