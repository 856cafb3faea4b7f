#!/usr/bin/env bash
# The test command (README): installs what is missing, builds, and runs every CTest suite.
# Labels: quick (a set of suites that runs in under 2 minutes on 2 cores: tools/test.sh -L quick), and by kind
# unit, mpi, python, slow, gpu. A test that cannot run here (no GPU, no dataset) is reported "Skipped", not passed.
# Extra arguments go to ctest, e.g. tools/test.sh -L quick  or  tools/test.sh -L unit  or  tools/test.sh -R sampling.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "$@"
