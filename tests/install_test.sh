#!/bin/sh
# Installs the build into a temporary prefix, then builds tests/consumer against it twice: with
# CMake's find_package(cservice) and with pkg-config. Usage: install_test.sh <build-dir> <src-dir>
set -eu
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
pc="$(find "$work/prefix" -name cservice-worker.pc)"
# shellcheck disable=SC2046
c++ -std=c++20 "$src/tests/consumer/main.cpp" -o "$work/pkgconfig-consumer" \
  $(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --cflags --libs cservice-worker)
"$work/pkgconfig-consumer"
