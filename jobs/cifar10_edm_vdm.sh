#!/usr/bin/env bash
# Template for the paper-scale run: switch-point sweep of EDM (quality) and VDM (likelihood) on CIFAR-10,
# 19 points (sweep.steps = all on the 18-step grid), FID-50k with Inception features and PF-ODE bits/dim
# on the 10k test images, on GPU nodes with NCCL. Settings: jobs/cifar10_edm_vdm.ini.
#
# What you provide (the script checks each and prints how to make what is missing):
#   1. a switchdiff build with CUDA LibTorch and NCCL (cmake -DSWITCHDIFF_WITH_NCCL=ON), on the compute nodes
#   2. models/edm-cifar10-uncond-vp.pt   tools/export_edm.py <edm-cifar10-32x32-uncond-vp.pkl> --edm-repo <edm>
#   3. models/vdm-cifar10.pt             tools/export_vdm_flax.py <VDM's Flax checkpoint> --config cifar10
#   4. models/inception-2015-12-05.pt    tools/export_inception.py <inception-2015-12-05.pkl>
#   5. refs/cifar10-train-inception.h5   switchdiff stats of the 50k training images (GPU node recommended)
#   6. data/cifar10-test.h5              switchdiff prepare --input cifar-10-batches-bin/test_batch.bin
#   7. your site's sbatch options: SBATCH_SITE_ARGS="--partition=gpu --account=myproj" (or SBATCH_* env)
# docs/cifar10.md gives every command from the public files to the report, and which ones need a GPU.
# Cost: measure before you submit the whole sweep: run it small, e.g.
#   CIFAR_SMALL=1 jobs/cifar10_edm_vdm.sh   (1000 samples, 100 test images, points 17 and 18 only)
# and scale its time per block in the logs. All points are computed in one pass (docs/sweep.md); the array
# tasks share the budget's blocks, and each requeues itself when preempted or near its time limit and resumes
# from its saved blocks.
#
# Usage: jobs/cifar10_edm_vdm.sh [--section.key VALUE ...]   (overrides of the .ini)
# Environment:
#   GPUS_PER_TASK    GPUs (= MPI ranks) per array task on one node (default 4)
#   SWEEP_TASKS      array tasks, each a share of the blocks (default 4: slurm/submit_sweep.sh)
#   CPUS_PER_GPU     CPU cores per rank (default 8)
#   TASK_TIME        time limit per array task run (default 12:00:00; shorter limits just mean more requeues)
#   SBATCH_SITE_ARGS extra sbatch options for every job (partition, account, constraint, qos)
#   SWEEP_ARRAY_MAX  run at most this many array tasks at once
#   FID_REFERENCE    FID reference statistics (default refs/cifar10-train-inception.h5; EDM's .npz works too)
#   SWEEP_*, SWITCHDIFF_*: slurm/submit_sweep.sh, slurm/sweep.sbatch
# Then: /usr/bin/python3 analysis/sweep_table.py results/cifar10_edm_vdm/sweep.h5
#       /usr/bin/python3 analysis/report.py results/cifar10_edm_vdm/sweep.h5 --out results/cifar10_edm_vdm/report
set -euo pipefail
cd "$(dirname "$0")/.."
config=jobs/cifar10_edm_vdm.ini
missing=0
need() {  # need FILE HOW: report a missing input and how to make it
  if [ ! -e "$1" ]; then
    echo "missing $1: $2" >&2
    missing=1
  fi
}
need models/edm-cifar10-uncond-vp.pt "python3 tools/export_edm.py \
https://nvlabs-fi-cdn.nvidia.com/edm/pretrained/edm-cifar10-32x32-uncond-vp.pkl --edm-repo <EDM source tree> \
--device cuda --out models/edm-cifar10-uncond-vp.pt"
need models/vdm-cifar10.pt "gsutil cp -r gs://gresearch/vdm/cifar10/checkpoint-final/checkpoints-0 \
downloads/vdm-cifar10 && python3 tools/export_vdm_flax.py downloads/vdm-cifar10 --config cifar10 \
--out models/vdm-cifar10.pt (apt-get install python3-msgpack; see docs/cifar10.md)"
need models/inception-2015-12-05.pt "python3 tools/export_inception.py <inception-2015-12-05.pkl or .pt> \
--repo <EDM source tree> --resolution 32 --out models/inception-2015-12-05.pt"
reference=${FID_REFERENCE:-refs/cifar10-train-inception.h5}
need "$reference" "switchdiff prepare --input cifar-10-batches-bin/data_batch_1.bin,\
cifar-10-batches-bin/data_batch_2.bin,cifar-10-batches-bin/data_batch_3.bin,cifar-10-batches-bin/data_batch_4.bin,\
cifar-10-batches-bin/data_batch_5.bin --output.path data/cifar10-train.h5 && switchdiff stats --dataset \
data/cifar10-train.h5 --fid.extractor models/inception-2015-12-05.pt --output.path refs/cifar10-train-inception.h5 \
(or FID_REFERENCE=refs/cifar10-32x32.npz, EDM's statistics; see docs/cifar10.md)"
need data/cifar10-test.h5 "switchdiff prepare --input cifar-10-batches-bin/test_batch.bin \
--output.path data/cifar10-test.h5"
[ $missing = 0 ] || { echo "cifar10_edm_vdm: nothing submitted; provide the files above" >&2; exit 1; }

gpus=${GPUS_PER_TASK:-4}
cpus=${CPUS_PER_GPU:-8}
site=${SBATCH_SITE_ARGS:-}
# One node per array task, one rank per GPU; switchdiff maps rank -> GPU by SLURM_LOCALID (modulo visible GPUs).
export SWEEP_ARRAY_SBATCH_ARGS=${SWEEP_ARRAY_SBATCH_ARGS:-"--nodes=1 --ntasks-per-node=$gpus --gpus-per-node=$gpus \
--cpus-per-task=$cpus --time=${TASK_TIME:-12:00:00} $site"}
# The last job assembles (seconds) and computes any block a task did not finish: give it the same node shape.
export SWEEP_FINAL_SBATCH_ARGS=${SWEEP_FINAL_SBATCH_ARGS:-$SWEEP_ARRAY_SBATCH_ARGS}
export SWITCHDIFF_BACKEND=${SWITCHDIFF_BACKEND:-nccl}  # fail loudly rather than run 19 points on CPUs
args=(--config "$config" --fid.reference "$reference")
if [ "${CIFAR_SMALL:-0}" = 1 ]; then
  args+=(--samples.count 1000 --nll.count 100 --sweep.steps "17, 18"
    --output.path results/cifar10_edm_vdm/small.h5)
fi
export SWEEP_LOG_DIR=${SWEEP_LOG_DIR:-results/cifar10_edm_vdm/logs}
slurm/submit_sweep.sh "${args[@]}" "$@"
