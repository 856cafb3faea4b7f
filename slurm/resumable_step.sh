# shellcheck shell=bash
# Sourced by slurm/sweep.sbatch (bash): runs one switchdiff command as a
# SLURM job step and turns "stopped with progress saved" into a requeue of the job, so a sweep survives
# time limits and preemption without losing finished work.
#
# Why the batch shell does this and not switchdiff: `#SBATCH --signal=B:USR1@T` signals only the batch
# shell (T seconds before the time limit); the ranks never see it unless the shell passes it on. switchdiff
# then stops at the next block, saves its progress and exits 3 (docs/cli.md); re-running the same command
# resumes with bitwise-identical results, so the job can simply be requeued.
#
# Environment (all optional):
#   SWITCHDIFF_BIN           switchdiff binary (default: switchdiff on PATH, else <repo>/build/src/cli/switchdiff)
#   SWITCHDIFF_BACKEND       run.backend to pass (default: nccl when the job has GPUs, else mpi)
#   SWITCHDIFF_MAX_REQUEUES  stop requeueing after this many restarts (default 10): a job that never
#                            finishes (e.g. a time limit shorter than one block) must not loop forever
#   SWITCHDIFF_SRUN_ARGS     options for srun (default: --mpi=pmix; Debian's OpenMPI needs PMIx under srun)

sd_binary() {
  if [ -n "${SWITCHDIFF_BIN:-}" ]; then
    echo "$SWITCHDIFF_BIN"
  elif command -v switchdiff >/dev/null; then
    command -v switchdiff
  else
    echo "$1/build/src/cli/switchdiff"
  fi
}

# nccl when this job was given GPUs (SLURM gres sets SLURM_JOB_GPUS / SLURM_GPUS_ON_NODE, and
# CUDA_VISIBLE_DEVICES), else mpi. A site without GPU gres still shows its GPUs through nvidia-smi.
sd_backend() {
  if [ -n "${SWITCHDIFF_BACKEND:-}" ]; then
    echo "$SWITCHDIFF_BACKEND"
  elif [ -n "${SLURM_JOB_GPUS:-}" ] || [ "${SLURM_GPUS_ON_NODE:-0}" != 0 ] ||
    { [ -n "${CUDA_VISIBLE_DEVICES:-}" ] && [ "${CUDA_VISIBLE_DEVICES}" != NoDevFiles ]; } ||
    { command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; }; then
    echo nccl
  else
    echo mpi
  fi
}

# LibTorch threads per rank: SLURM's --cpus-per-task when given (srun does not inherit it since Slurm 22.05,
# hence SRUN_CPUS_PER_TASK), else this node's allocated CPUs over its tasks. switchdiff cannot tell the
# latter itself under srun: SLURM_NTASKS_PER_NODE is only set when --ntasks-per-node was given.
# SLURM_JOB_CPUS_PER_NODE / SLURM_TASKS_PER_NODE look like "8(x2),4"; the batch shell runs on the first node.
sd_threads_per_rank() {
  local cpus tasks
  if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then
    export SRUN_CPUS_PER_TASK=$SLURM_CPUS_PER_TASK
    echo "$SLURM_CPUS_PER_TASK"
    return
  fi
  cpus=${SLURM_JOB_CPUS_PER_NODE:-$(nproc)}
  tasks=${SLURM_TASKS_PER_NODE:-1}
  cpus=${cpus%%[(,]*}
  tasks=${tasks%%[(,]*}
  echo $((cpus / tasks > 0 ? cpus / tasks : 1))
}

# This job's name for scontrol. An array task is <array>_<task>: the last task's SLURM_JOB_ID equals the
# array's id, which names every task (`scontrol requeue <array id>` would requeue them all).
sd_job_name() {
  if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then echo "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"; else echo "${SLURM_JOB_ID:-}"; fi
}

# "JobState Reason" of this job as slurmctld sees it now (e.g. "RUNNING None", "COMPLETING TimeLimit"), or
# "UNKNOWN".
sd_job_state() {
  local line st reason
  line=$(scontrol show job -o "$(sd_job_name)" 2>/dev/null | head -1)
  st=$(grep -oP '(^| )JobState=\K\S+' <<<"$line")
  reason=$(grep -oP '(^| )Reason=\K\S+' <<<"$line")
  echo "${st:-UNKNOWN}${reason:+ $reason}"
}

sd_log() { echo "[switchdiff-slurm $(date '+%F %T')] $*"; }

# The signal handler: remember the signal and pass it on to the running step (srun forwards it to every
# task). switchdiff treats a repeated TERM/USR1 like the first, so a duplicate (preemption signals the
# step and the batch shell alike) is harmless. INT is never forwarded: srun treats it specially.
sd_on_signal() {
  SD_SIGNAL=$1
  sd_log "received SIG$1; forwarding it to the job step so switchdiff saves its progress and exits 3"
  if [ -n "${SD_STEP_PID:-}" ]; then kill -s "$1" "$SD_STEP_PID" 2>/dev/null || true; fi
}

# sd_run_resumable COMMAND...: runs `srun COMMAND` and exits the batch script with the outcome:
# 0 done; 3 with a requeue (or without one when the job was cancelled, the restart limit is reached or
# requeue is refused); any other code as it came.
sd_run_resumable() {
  local restarts=${SLURM_RESTART_COUNT:-0} max=${SWITCHDIFF_MAX_REQUEUES:-10} rc state
  local -a srun_args
  read -r -a srun_args <<<"${SWITCHDIFF_SRUN_ARGS:---mpi=pmix}"
  SD_SIGNAL=""
  SD_STEP_PID=""
  trap 'sd_on_signal USR1' USR1
  trap 'sd_on_signal TERM' TERM
  sd_log "job ${SLURM_JOB_ID:-?}${SLURM_ARRAY_TASK_ID:+ (array ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID})}" \
    "SLURM_RESTART_COUNT=$restarts on $(hostname -s), ${SLURM_NTASKS:-1} task(s)"
  sd_log "srun ${srun_args[*]} $*"
  # --kill-on-bad-exit=0: after a stop every rank exits 3; a site default of 1 would kill rank 0 while it
  # still saves the progress of the others.
  srun "${srun_args[@]}" --kill-on-bad-exit=0 "$@" &
  SD_STEP_PID=$!
  # A signal that arrived before srun existed has to be passed on now.
  if [ -n "$SD_SIGNAL" ]; then kill -s "$SD_SIGNAL" "$SD_STEP_PID" 2>/dev/null || true; fi
  # bash runs a trap only between commands, and `wait` returns early (status > 128) when one runs: wait
  # again until the step is gone; the last `wait` gives its exit status, which bash keeps.
  while kill -0 "$SD_STEP_PID" 2>/dev/null; do wait "$SD_STEP_PID"; done
  wait "$SD_STEP_PID"
  rc=$?
  # From here on a signal only means that SLURM is ending this run (e.g. after our own requeue).
  trap '' USR1 TERM
  case $rc in
    0)
      sd_log "done"
      exit 0
      ;;
    3)
      # Stopped with progress saved: by our forwarded signal, or by a signal SLURM sent the ranks
      # directly (preemption, `--signal=USR1@T` without B:, scancel --signal).
      if [ "$restarts" -ge "$max" ]; then
        sd_log "stopped (exit 3) after $restarts restart(s); SWITCHDIFF_MAX_REQUEUES=$max reached, not" \
          "requeueing. Progress is saved: submit the same job again to resume."
        exit 3
      fi
      # A job SLURM is already ending shows COMPLETING (Slurm 22.05), after scancel and after a hard time
      # limit alike; only the Reason tells them apart. A scancel must stay a cancel, so only a time limit
      # (Reason=TimeLimit) is requeued; preemption in REQUEUE mode requeues the job itself.
      state=$(sd_job_state)
      case $state in
        "COMPLETING TimeLimit" | "TIMEOUT"*) ;;
        COMPLETING* | CANCELLED* | PREEMPTED*)
          sd_log "stopped with progress saved (exit 3) while SLURM ends the job (JobState=${state/ /, Reason=}:" \
            "scancel or preemption); not requeueing. Submit the same job again to resume."
          exit 3
          ;;
      esac
      if scontrol requeue "$(sd_job_name)"; then
        sd_log "stopped with progress saved (exit 3); requeued job $(sd_job_name) (restart $((restarts + 1)) of" \
          "at most $max); it resumes where it stopped"
        exit 0
      fi
      sd_log "stopped with progress saved (exit 3), but 'scontrol requeue $(sd_job_name)' failed (was the" \
        "job submitted with --no-requeue?). Submit the same job again to resume."
      exit 3
      ;;
    *)
      sd_log "switchdiff failed with exit code $rc${SD_SIGNAL:+ (after SIG$SD_SIGNAL)}; not requeueing" \
        "(1: bad input or config, 2: runtime failure; see the messages above)"
      exit "$rc"
      ;;
  esac
}

# sd_has_flag FLAG ARGS...: true if ARGS contain `FLAG VALUE` or `FLAG=VALUE` (switchdiff refuses a flag
# given twice, so a flag the user passed replaces the one these scripts would add).
sd_has_flag() {
  local flag=$1 a
  shift
  for a in "$@"; do
    case $a in "$flag" | "$flag="*) return 0 ;; esac
  done
  return 1
}

# sd_switchdiff_command ROOT SUBCOMMAND [ARGS...]: fills the array SD_CMD with the switchdiff command line:
# SWITCHDIFF_CONFIG / SWITCHDIFF_OUTPUT, the backend and thread count for this allocation, then ARGS (the
# batch script's own arguments; a flag given there replaces the one derived here).
sd_switchdiff_command() {
  local root=$1 sub=$2 bin
  shift 2
  bin=$(sd_binary "$root")
  if [ ! -x "$bin" ]; then
    sd_log "error: switchdiff binary '$bin' not found or not executable; build it (tools/build.sh) or set" \
      "SWITCHDIFF_BIN=/path/to/switchdiff (or SWITCHDIFF_ROOT=<repo>)"
    exit 1
  fi
  SD_CMD=("$bin" "$sub")
  if [ -n "${SWITCHDIFF_CONFIG:-}" ] && ! sd_has_flag --config "$@"; then
    SD_CMD+=(--config "$SWITCHDIFF_CONFIG")
  fi
  if [ -n "${SWITCHDIFF_OUTPUT:-}" ] && ! sd_has_flag --output.path "$@"; then
    SD_CMD+=(--output.path "$SWITCHDIFF_OUTPUT")
  fi
  sd_has_flag --run.threads "$@" || SD_CMD+=(--run.threads "$(sd_threads_per_rank)")
  sd_has_flag --run.backend "$@" || SD_CMD+=(--run.backend "$(sd_backend)")
  SD_CMD+=("$@")
}
