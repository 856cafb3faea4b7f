#!/usr/bin/env bash
# Submits a sweep as a SLURM job array (task i = sweep point i, slurm/sweep_array.sbatch) plus a last job
# (slurm/sweep.sbatch, --dependency=afterany on the array) that computes any point a task failed to finish,
# assembles the results file and prints the table. Each job requeues itself when preempted.
#
# Usage: slurm/submit_sweep.sh --config FILE.ini [--output.path results/x.h5] [--section.key VALUE ...]
#   The arguments are switchdiff's (the same for every job); run from the folder the config's relative
#   paths start from (jobs run there too).
# Environment (optional):
#   SWEEP_LOG_DIR            job logs (default results/slurm-logs; one file per job, appended across requeues)
#   SWEEP_ARRAY_SBATCH_ARGS  extra sbatch options for every array task, e.g. "--ntasks=4 --gpus-per-task=1"
#   SWEEP_FINAL_SBATCH_ARGS  extra sbatch options for the last job
#   SWEEP_ARRAY_MAX          at most this many array tasks at once (sbatch --array=0-K%N)
#   SWEEP_DEPENDENCY         dependency of the array, e.g. afterok:1234 (a data preparation job)
#   SWITCHDIFF_*             as documented in slurm/sweep.sbatch (binary, backend, requeue limit)
# Prints the job ids; the last line reads `array_job=<id> final_job=<id> points=<K>`.
set -euo pipefail
SLURM_DIR=$(cd "$(dirname "$0")" && pwd)
export SWITCHDIFF_ROOT=${SWITCHDIFF_ROOT:-$(dirname "$SLURM_DIR")}
command -v sbatch >/dev/null || { echo "submit_sweep: sbatch not found; run this on a SLURM login node" >&2; exit 1; }

# K from the same arguments switchdiff gets (slurm/sweep_size.py mirrors its sweep.sigmas/steps rules).
if ! points=$(/usr/bin/python3 "$SLURM_DIR/sweep_size.py" ${SWITCHDIFF_CONFIG:+--config "$SWITCHDIFF_CONFIG"} "$@"); then
  echo "submit_sweep: cannot size the sweep (see above); nothing submitted" >&2
  exit 1
fi
log_dir=${SWEEP_LOG_DIR:-results/slurm-logs}
mkdir -p "$log_dir"  # SLURM does not create missing log folders: the job would fail without a trace
read -r -a array_args <<<"${SWEEP_ARRAY_SBATCH_ARGS:-}"
read -r -a final_args <<<"${SWEEP_FINAL_SBATCH_ARGS:-}"

array_job=$(sbatch --parsable --array="0-$((points - 1))${SWEEP_ARRAY_MAX:+%$SWEEP_ARRAY_MAX}" \
  --output="$log_dir/%x-%A_%a.out" ${SWEEP_DEPENDENCY:+--dependency="$SWEEP_DEPENDENCY"} \
  "${array_args[@]}" "$SLURM_DIR/sweep_array.sbatch" "$@")
array_job=${array_job%%;*}  # "id;cluster" on multi-cluster sites
# afterany, not afterok: the last job also runs when a task failed, and computes that point itself.
final_job=$(sbatch --parsable --dependency="afterany:$array_job" --job-name=switchdiff-sweep \
  --output="$log_dir/%x-%j.out" "${final_args[@]}" "$SLURM_DIR/sweep.sbatch" "$@")
final_job=${final_job%%;*}
echo "submitted: array job $array_job ($points sweep points), then job $final_job to assemble the results"
echo "logs: $log_dir/switchdiff-point-${array_job}_<i>.out, $log_dir/switchdiff-sweep-$final_job.out"
echo "array_job=$array_job final_job=$final_job points=$points"
