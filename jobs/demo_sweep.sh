#!/usr/bin/env bash
# The bundled demo (configs/demo.ini: Fashion-MNIST experts, FID with the demo classifier's features) as a
# SLURM sweep: SWEEP_TASKS array tasks (default 4) share the pass's blocks, then a job that finishes any
# missing block, assembles results/demo_slurm/sweep.h5 (unless a task already did) and prints the table
# (`switchdiff info results/demo_slurm/sweep.h5` prints it again). CPU only.
# If the demo data is missing, a first job prepares it (Debian's dataset-fashion-mnist must be installed
# on the compute nodes) and the array waits for it.
#
# Usage (any folder; jobs run in the repository root):
#   jobs/demo_sweep.sh [--section.key VALUE ...]     e.g. --samples.count 2048 --nll.count 64
# Environment:
#   DEMO_SIGMAS     switch sigmas instead of configs/demo.ini's [sweep] sigmas, e.g. "0, 0.5, 80"
#                   (0 = quality expert alone, 80 = likelihood expert alone)
#   DEMO_DATA_DIR   where the demo data lives (default data/, as configs/demo.ini says)
#   DEMO_OUTPUT     results file (default results/demo_slurm/sweep.h5)
#   SWEEP_*, SWITCHDIFF_*: see slurm/submit_sweep.sh and slurm/sweep.sbatch
# Then: /usr/bin/python3 analysis/sweep_table.py results/demo_slurm/sweep.h5
#       /usr/bin/python3 analysis/plot_sweep.py results/demo_slurm/sweep.h5 --out results/demo_slurm/sweep
set -euo pipefail
cd "$(dirname "$0")/.."
output=${DEMO_OUTPUT:-results/demo_slurm/sweep.h5}
data=${DEMO_DATA_DIR:-data}
export SWEEP_LOG_DIR=${SWEEP_LOG_DIR:-$(dirname "$output")/logs}
mkdir -p "$(dirname "$output")" "$SWEEP_LOG_DIR" "$data"
args=(--config configs/demo.ini --output.path "$output")
if [ "$data" != data ]; then
  args+=(--nll.dataset "$data/fashion-mnist-test.h5" --fid.reference "$data/fashion-mnist-train-stats.h5")
fi
# The array size does not depend on the points, so nothing here needs to count them.
if [ -n "${DEMO_SIGMAS:-}" ]; then args+=(--sweep.sigmas "$DEMO_SIGMAS"); fi

# Demo data, made once by a job of its own (the array tasks would race to write it): the 10k test images
# for bits/dim and the statistics of the 60k training images for FID, as tools/run_demo.sh makes them.
if [ ! -f "$data/fashion-mnist-test.h5" ] || [ ! -f "$data/fashion-mnist-train-stats.h5" ]; then
  sd=${SWITCHDIFF_BIN:-$PWD/build/src/cli/switchdiff}
  fm=/usr/share/datasets/fashion-mnist
  prep="set -e
[ -f $data/fashion-mnist-test.h5 ] || $sd prepare --input $fm/t10k-images-idx3-ubyte.gz \
 --labels $fm/t10k-labels-idx1-ubyte.gz --output.path $data/fashion-mnist-test.h5
[ -f $data/fashion-mnist-train.h5 ] || $sd prepare --input $fm/train-images-idx3-ubyte.gz \
 --labels $fm/train-labels-idx1-ubyte.gz --output.path $data/fashion-mnist-train.h5
[ -f $data/fashion-mnist-train-stats.h5 ] || $sd stats --config configs/demo.ini \
 --dataset $data/fashion-mnist-train.h5 --output.path $data/fashion-mnist-train-stats.h5"
  prep_job=$(sbatch --parsable --job-name=switchdiff-demo-data --ntasks=1 --time=01:00:00 \
    --output="$SWEEP_LOG_DIR/%x-%j.out" --wrap "$prep")
  prep_job=${prep_job%%;*}
  echo "submitted: job $prep_job prepares the demo data in $data/"
  export SWEEP_DEPENDENCY=afterok:$prep_job
fi
slurm/submit_sweep.sh "${args[@]}" "$@"
