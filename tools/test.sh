#!/usr/bin/env bash
# The test command (README): installs what is missing, builds, and runs every CTest suite.
# Labels: unit, mpi, python, slow, gpu (GPU tests skip themselves without CUDA).
# Extra arguments go to ctest, e.g. tools/test.sh -L unit  or  tools/test.sh -R sampling.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "$@"
