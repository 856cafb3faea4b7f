#!/usr/bin/env bash
# The sanitize configuration (docs/testing.md): builds build-asan/ with -DSWITCHDIFF_SANITIZE=ON (AddressSanitizer
# and UndefinedBehaviorSanitizer on switchdiff's own code, through the switchdiff_warnings interface target of
# cmake/switchdiff_helpers.cmake), then runs the CTest label 'sanitize': the reader tests (test_io), the mutation
# fuzz of the readers through the real binary (tests/io/fuzz_readers.py) and the CLI bad-input cases.
# Arguments go to ctest (e.g. -R io). TARGETS overrides what is built (default: test_io test_cli switchdiff).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
JOBS=${JOBS:-$(nproc)}
TARGETS=${TARGETS:-test_io test_cli switchdiff}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWITCHDIFF_SANITIZE=ON \
    -DSWITCHDIFF_BUILD_BENCHMARKS=OFF >/dev/null
fi
# shellcheck disable=SC2086  # TARGETS is a list of words
cmake --build "$BUILD_DIR" -j "$JOBS" --target $TARGETS
# LibTorch, Open MPI and HDF5 are not instrumented: their allocations at exit are not leaks of ours
# (detect_leaks=0), their global objects may be seen twice (detect_odr_violation=0), and UBSan's vptr reports on
# their types are suppressed by tests/sanitize.supp. exitcode=86 keeps a sanitizer report apart from exit 1
# (bad input), which the CLI tests and the fuzz test accept.
export ASAN_OPTIONS="detect_leaks=0:detect_odr_violation=0:exitcode=86:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86:suppressions=$PWD/tests/sanitize.supp"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "$BUILD_DIR" --output-on-failure -L sanitize "$@"
