#!/usr/bin/env bash
# Configures and builds switchdiff into build/ (Release with debug info). Installs missing packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
# Arguments are CMake options (-DSWITCHDIFF_WITH_NCCL=OFF ...): a new build folder is configured with them, and an
# existing one is reconfigured with them (CMake keeps them in its cache), so they take effect either way.
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
elif [ $# -gt 0 ]; then
  cmake -S . -B "$BUILD_DIR" "$@" >/dev/null
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
