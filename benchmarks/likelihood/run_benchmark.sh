#!/bin/sh
# Builds the benchmark experts and runs bench_likelihood on a tiny (1x8x8) merged model and a larger (3x16x16)
# single expert, first with glibc's default malloc, then with large-buffer retention for both processes
# (MALLOC_MMAP_THRESHOLD_ etc.: conv buffers are otherwise mmapped and page-faulted afresh on every call, which
# costs several times the arithmetic on virtual machines).
# Usage: benchmarks/likelihood/run_benchmark.sh BUILD_DIR [THREADS]   (BENCH=path overrides the executable)
set -eu
build=${1:?usage: run_benchmark.sh BUILD_DIR [THREADS]}
threads=${2:-1}
src=$(cd "$(dirname "$0")/../.." && pwd)
work="$build/bench_likelihood_work"
mkdir -p "$work"
py=/usr/bin/python3
$py "$src/tests/fixtures/make_tiny_experts.py" --out "$work/fixtures" > /dev/null
$py "$src/benchmarks/likelihood/make_bench_expert.py" --out "$work/edm_3x16.pt" --channels 3 --resolution 16 --width 32
bench=${BENCH:-"$build/benchmarks/likelihood/bench_likelihood"}
run() {
  $bench --likelihood "$work/fixtures/tiny_edm.pt" --quality "$work/fixtures/tiny_edm_b.pt" --switch-sigma 1 \
    --images 64 --threads "$threads" --work "$work"
  $bench --likelihood "$work/edm_3x16.pt" --images 16 --threads "$threads" --work "$work"
}
echo "== glibc malloc defaults"
run
echo "== large buffers kept by malloc (both processes)"
MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 run
