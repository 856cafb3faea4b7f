#!/usr/bin/env bash
# Submits a sweep as a SLURM job array of N budget shares plus a last job. `switchdiff sweep` computes every
# switch point in one pass over fixed global blocks; array task i of N (slurm/sweep.sbatch as an array) computes
# the i-th of N contiguous block ranges (`--sweep.task i/N`), and whichever task finds every block present
# assembles the results file. The last job (slurm/sweep.sbatch, --dependency=afterany on the array) runs the
# plain sweep: it computes any block a task failed to finish, assembles if no task did, and prints the
# table. Every job requeues itself when preempted. N does not depend on the number of switch points.
#
# Usage: slurm/submit_sweep.sh --config FILE.ini [--output.path results/x.h5] [--section.key VALUE ...]
#   The arguments are switchdiff's (the same for every job); run from the folder the config's relative
#   paths start from (jobs run there too).
# Environment (optional):
#   SWEEP_TASKS              number of array tasks N = budget shares (default 4); more tasks finish sooner
#                            if the cluster has room, each adds one process start and one read of the models
#   SWEEP_LOG_DIR            job logs (default results/slurm-logs; one file per job, appended across requeues)
#   SWEEP_ARRAY_SBATCH_ARGS  extra sbatch options for every array task, e.g. "--ntasks=4 --gpus-per-task=1"
#   SWEEP_FINAL_SBATCH_ARGS  extra sbatch options for the last job
#   SWEEP_ARRAY_MAX          at most this many array tasks at once (sbatch --array=0-<N-1>%M)
#   SWEEP_DEPENDENCY         dependency of the array, e.g. afterok:1234 (a data preparation job)
#   SWITCHDIFF_*             as documented in slurm/sweep.sbatch (binary, backend, requeue limit)
# Prints the job ids; the last line reads `array_job=<id> final_job=<id> tasks=<N>`.
set -euo pipefail
SLURM_DIR=$(cd "$(dirname "$0")" && pwd)
export SWITCHDIFF_ROOT=${SWITCHDIFF_ROOT:-$(dirname "$SLURM_DIR")}
command -v sbatch >/dev/null || { echo "submit_sweep: sbatch not found; run this on a SLURM login node" >&2; exit 1; }

tasks=${SWEEP_TASKS:-4}
if ! [[ $tasks =~ ^[1-9][0-9]*$ ]]; then
  echo "submit_sweep: SWEEP_TASKS='$tasks' is not a positive whole number (the number of array tasks," \
    "e.g. SWEEP_TASKS=8); nothing submitted" >&2
  exit 1
fi
for a in "$@"; do
  case $a in
    --sweep.task | --sweep.task=*)
      echo "submit_sweep: do not pass --sweep.task; each array task sets its own (SWEEP_TASKS sets N)" >&2
      exit 1
      ;;
  esac
done
log_dir=${SWEEP_LOG_DIR:-results/slurm-logs}
mkdir -p "$log_dir"  # SLURM does not create missing log folders: the job would fail without a trace
read -r -a array_args <<<"${SWEEP_ARRAY_SBATCH_ARGS:-}"
read -r -a final_args <<<"${SWEEP_FINAL_SBATCH_ARGS:-}"

array_job=$(sbatch --parsable --array="0-$((tasks - 1))${SWEEP_ARRAY_MAX:+%$SWEEP_ARRAY_MAX}" \
  --job-name=switchdiff-sweep-task --output="$log_dir/%x-%A_%a.out" ${SWEEP_DEPENDENCY:+--dependency="$SWEEP_DEPENDENCY"} \
  "${array_args[@]}" "$SLURM_DIR/sweep.sbatch" "$@")
array_job=${array_job%%;*}  # "id;cluster" on multi-cluster sites
# afterany, not afterok: the last job also runs when a task failed or was cancelled, and computes its blocks.
final_job=$(sbatch --parsable --dependency="afterany:$array_job" --job-name=switchdiff-sweep \
  --output="$log_dir/%x-%j.out" "${final_args[@]}" "$SLURM_DIR/sweep.sbatch" "$@")
final_job=${final_job%%;*}
echo "submitted: array job $array_job ($tasks tasks, one share of the sweep's blocks each), then job $final_job" \
  "to finish and assemble the results"
echo "logs: $log_dir/switchdiff-sweep-task-${array_job}_<i>.out, $log_dir/switchdiff-sweep-$final_job.out"
echo "array_job=$array_job final_job=$final_job tasks=$tasks"
