#!/usr/bin/env bash
# slurm/ and the submission flow, end to end on a real single-node SLURM cluster (tools/slurm-local-up.sh),
# with a 3-point sweep of the tiny test experts (one pass of 190 blocks with the default 12000 samples).
# Every results file must equal an uninterrupted serial run bitwise (tests/slurm/compare_results.py):
#  1. preemption: slurm/sweep.sbatch with 2 ranks gets `scancel --batch --signal=USR1` once it has saved a
#     block; switchdiff saves and exits 3, the job requeues itself (SLURM_RESTART_COUNT=1 in the appended
#     log) and resumes from the saved blocks;
#  2. array (slurm/submit_sweep.sh, SWEEP_TASKS=3, as jobs/demo_sweep.sh uses it): 3 tasks each compute
#     their share of the blocks, the last to finish assembles, the afterany job finds nothing left to do;
#  3. array with trouble: task 0 gets USR1 (exit 3, requeued, resumes its share), task 1 is scancel-ed
#     halfway (exit 3, not requeued: a cancel stays one); the afterany job computes its missing blocks;
#  4. bad input: the job fails with exit code 1 and is not requeued.
#  5. an array whose task ids skip (--array=0-2:2): every task exits 1 before any work, naming the fix.
# Prints every job's final state (scontrol: this cluster has no accounting database for sacct).
# Skips (exit 77) when not root or when the SLURM packages are missing and cannot be installed. Stops the
# daemons afterwards only if it started them. Env: SWITCHDIFF_EXE, SWITCHDIFF_BINARY_DIR, SWITCHDIFF_PYTHON.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${SWITCHDIFF_BINARY_DIR:-$ROOT/build}
PY=${SWITCHDIFF_PYTHON:-/usr/bin/python3}
T0=$(date +%s)
log() { echo "[$(($(date +%s) - T0))s] $*"; }
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "the local SLURM cluster runs its daemons as root; run this test as root"
exe=${SWITCHDIFF_EXE:-$BUILD/src/cli/switchdiff}
[ -x "$exe" ] || fail "switchdiff binary $exe not found; build it first (tools/build.sh)"

# ---- the cluster: reuse a running one, else start one and stop it at the end ----
alive() { [ -s "$1" ] && [ "$(cat /proc/"$(cat "$1")"/comm 2>/dev/null)" = "$2" ]; }
started=0
submitted=()
cleanup() {
  local rc=$?
  if [ ${#submitted[@]} -gt 0 ]; then scancel "${submitted[@]}" 2>/dev/null || true; fi
  if [ $started = 1 ]; then "$ROOT/tools/slurm-local-down.sh" >/dev/null || true; fi
  exit $rc
}
trap cleanup EXIT
# The cluster's private folder under the build tree (tools/slurm-local-up.sh); every sbatch/squeue/scontrol
# here and in the jobs (sbatch passes the environment on) reads its slurm.conf.
export SLURM_LOCAL_DIR=${SLURM_LOCAL_DIR:-$BUILD/slurm-local}
export SLURM_CONF=$SLURM_LOCAL_DIR/slurm.conf
if ! alive "$SLURM_LOCAL_DIR/run/slurmctld.pid" slurmctld; then
  up_rc=0
  "$ROOT/tools/slurm-local-up.sh" || up_rc=$?
  [ $up_rc = 4 ] && skip "munge/slurm packages are not installed and could not be installed (tools/install_deps.sh)"
  [ $up_rc = 0 ] || fail "tools/slurm-local-up.sh failed with exit code $up_rc"
  started=1
else
  log "using the SLURM cluster that is already running"
fi

# ---- inputs: private copies, so a rebuild of the binary or fixtures mid-test changes nothing ----
S=$BUILD/test_scratch/slurm_sweep
rm -rf "$S"
mkdir -p "$S"
cd "$S"
cp "$exe" sd
cp "$(dirname "$exe")/switchdiff-engine" .  # the launcher execs the engine beside it (src/cli/launcher.cpp)
export SWITCHDIFF_BIN=$S/sd
"$PY" "$ROOT/tests/fixtures/make_tiny_experts.py" --out "$S/fx" >/dev/null
./sd sample --experts.quality fx/tiny_edm.pt --samples.count 40 --samples.seed_base 1000 --output.path data.h5 \
  >/dev/null
./sd stats --fid.extractor fx/tiny_features.pt --dataset data.h5 --output.path ref.h5 >/dev/null
cat >sweep.ini <<EOF
[experts]
quality = $S/fx/tiny_edm_b.pt
likelihood = $S/fx/tiny_edm.pt
[sweep]
sigmas = 0, 0.5, 80
[sampler]
steps = 6
[samples]
count = ${SLURM_TEST_SAMPLES:-12000}
batch = 64
[nll]
dataset = $S/data.h5
count = 6
batch = 3
rtol = 1e-3
atol = 1e-3
elbo_samples = 8
[fid]
extractor = $S/fx/tiny_features.pt
reference = $S/ref.h5
batch = 256
EOF
log "inputs ready; uninterrupted serial reference run"
./sd sweep --config sweep.ini --output.path serial.h5 --run.threads 1 >serial.log 2>&1 ||
  { cat serial.log; fail "the serial reference sweep failed"; }
log "reference done"

# ---- helpers ----
state() { scontrol show job "$1" 2>/dev/null | grep -oP 'JobState=\K\S+' | head -1; }
# report ID LABEL: one line with the job's final state, for the log a reviewer reads
report() {
  local line
  line=$(scontrol show job -o "$1" 2>/dev/null | head -1)
  field() { grep -oP "(^| )$1=\K\S+" <<<"$line" | head -1; }
  echo "JOB [$2] $1: JobId=$(field JobId) JobState=$(field JobState) ExitCode=$(field ExitCode)" \
    "Restarts=$(field Restarts)"
}
# wait_gone ID [S]: until the job (all its array tasks) left the queue
wait_gone() {
  local end=$(($(date +%s) + ${2:-300}))
  while squeue -h -j "$1" 2>/dev/null | grep -q .; do
    [ "$(date +%s)" -lt "$end" ] || fail "job $1 still queued after ${2:-300}s"
    sleep 0.2
  done
}
# wait_for ID TEST...: until `TEST...` succeeds while job ID is still queued or running
wait_for() {
  local id=$1 end=$(($(date +%s) + 180))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$end" ] || fail "job $id: '$*' still false after 180s"
    squeue -h -j "$id" 2>/dev/null | grep -q . || fail "job $id ended before '$*'"
    sleep 0.1
  done
}
has_text() { [ -f "$1" ] && grep -qF -- "$2" "$1"; }
any_block() { compgen -G "$1.work/blocks/s*.h5" >/dev/null; }
# first_block LOG: the first block of an array task's share, from "task i/n computes blocks A..B"
first_block() { grep -oP 'task \d+/\d+ computes blocks \K\d+' "$1" | head -1; }
expect_in() {  # expect_in FILE TEXT: fail with the file shown when TEXT is missing
  grep -qF -- "$2" "$1" || { cat "$1"; fail "$1 lacks '$2'"; }
}
# computed LOG: blocks the last run in LOG computed ("3/3 points done; N blocks computed by this run")
computed() { grep -oP 'points done; \K\d+(?= blocks computed by this run)' "$1" | tail -1; }
compare() {  # compare FILE WHAT
  "$PY" "$ROOT/tests/slurm/compare_results.py" serial.h5 "$1" || fail "$2: $1 != the serial run"
}

# ---- 1. preemption of a 2-rank job: signal, exit 3, requeue, resume, bitwise-equal results ----
id=$(sbatch --parsable -n 2 -J sd-preempt -o "$S/preempt-%j.out" "$ROOT/slurm/sweep.sbatch" \
  --config sweep.ini --output.path preempt.h5)
submitted+=("$id")
wait_for "$id" any_block preempt.h5
log "job $id has saved a block; scancel --batch --signal=USR1"
scancel --batch --signal=USR1 "$id"
wait_gone "$id"
out=$S/preempt-$id.out
report "$id" "1: 2-rank sweep, USR1 + requeue"
[ "$(state "$id")" = COMPLETED ] || { cat "$out"; fail "job $id ended $(state "$id"), expected COMPLETED"; }
scontrol show job "$id" | grep -q 'Restarts=1 ' || { scontrol show job "$id"; fail "job $id: expected Restarts=1"; }
expect_in "$out" "SLURM_RESTART_COUNT=0"
expect_in "$out" "received SIGUSR1; forwarding it to the job step"
expect_in "$out" "run the same command again to resume"
expect_in "$out" "stopped with progress saved (exit 3); requeued job $id"
expect_in "$out" "SLURM_RESTART_COUNT=1"
expect_in "$out" "switchdiff sweep on 2 rank(s)"
# the second run started from the blocks the first one saved
resumed=$(grep -oP '; \K\d+(?= blocks already done)' "$out" | tail -1)
[ "${resumed:-0}" -gt 0 ] || { cat "$out"; fail "the requeued run did not resume saved blocks"; }
log "requeued run resumed with $resumed of 190 blocks already done"
expect_in "$out" "3/3 points done"
compare preempt.h5 "requeued 2-rank job"
[ "$("$PY" -c 'import h5py,sys; print(h5py.File(sys.argv[1])["/"].attrs["world_size"])' preempt.h5)" = 2 ] ||
  fail "preempt.h5 was not written by 2 ranks"

# submit NAME: slurm/submit_sweep.sh with 3 tasks; sets array_job, final_job
submit() {
  local submit_out
  submit_out=$(SWEEP_TASKS=3 SWEEP_LOG_DIR=$S/logs-$1 "$ROOT/slurm/submit_sweep.sh" --config sweep.ini \
    --output.path "$1.h5")
  echo "$submit_out"
  array_job=$(grep -oP 'array_job=\K\d+' <<<"$submit_out")
  final_job=$(grep -oP 'final_job=\K\d+' <<<"$submit_out")
  submitted+=("$array_job" "$final_job")
  grep -q "^array_job=$array_job final_job=$final_job tasks=3$" <<<"$submit_out" ||
    fail "submit_sweep.sh: unexpected last line in: $submit_out"
}
task_log() { echo "$S/logs-$1/switchdiff-sweep-task-${array_job}_$2.out"; }

# ---- 2. three array tasks + the assembly job, undisturbed ----
submit array
wait_gone "$final_job" 400
final=$S/logs-array/switchdiff-sweep-$final_job.out
for t in 0 1 2; do report "${array_job}_$t" "2: array task $t/3"; done
report "$final_job" "2: assembly job (afterany)"
assembled=0
for t in 0 1 2; do
  tlog=$(task_log array "$t")
  [ "$(state "${array_job}_$t")" = COMPLETED ] || { cat "$tlog"; fail "array task $t: $(state "${array_job}_$t")"; }
  expect_in "$tlog" "task $t/3 computes blocks"
  grep -q "3/3 points done" "$tlog" && assembled=$((assembled + 1))
done
[ $assembled -ge 1 ] || fail "no array task assembled the results, though every block was done"
[ "$(state "$final_job")" = COMPLETED ] || { cat "$final"; fail "final job $final_job: $(state "$final_job")"; }
[ "$(computed "$final")" = 0 ] || { cat "$final"; fail "the final job computed blocks, though the tasks did all"; }
compare array.h5 "3 array tasks + final job"
[ ! -e array.h5.work/blocks ] || fail "array.h5.work/blocks is left after the assembly"

# ---- 3. a task preempted (requeued) and a task cancelled; the final job fills in ----
submit trouble
t0=$(task_log trouble 0)
t1=$(task_log trouble 1)
wait_for "${array_job}_0" has_text "$t0" "task 0/3 computes blocks"
wait_for "${array_job}_1" has_text "$t1" "task 1/3 computes blocks"
b0=$(first_block "$t0")
b1=$(first_block "$t1")
wait_for "${array_job}_0" test -e "trouble.h5.work/blocks/s$b0.h5"
log "task ${array_job}_0 saved block $b0; scancel --batch --signal=USR1 (it requeues itself)"
scancel --batch --signal=USR1 "${array_job}_0"
wait_for "${array_job}_1" test -e "trouble.h5.work/blocks/s$b1.h5"
log "task ${array_job}_1 saved block $b1; scancel (its remaining blocks are left to the final job)"
scancel "${array_job}_1"
wait_gone "$final_job" 400
final=$S/logs-trouble/switchdiff-sweep-$final_job.out
for t in 0 1 2; do report "${array_job}_$t" "3: array task $t/3"; done
report "$final_job" "3: assembly job (afterany)"
[ "$(state "${array_job}_0")" = COMPLETED ] || { cat "$t0"; fail "task 0: $(state "${array_job}_0")"; }
scontrol show job "${array_job}_0" | grep -q 'Restarts=1 ' || fail "task 0: expected Restarts=1"
expect_in "$t0" "stopped with progress saved (exit 3); requeued job ${array_job}_0 "
expect_in "$t0" "SLURM_RESTART_COUNT=1"
[ "$(state "${array_job}_1")" = CANCELLED ] || { cat "$t1"; fail "task 1: $(state "${array_job}_1")"; }
expect_in "$t1" "while SLURM ends the job (JobState="
scontrol show job "${array_job}_1" | grep -q 'Restarts=0 ' || fail "task 1 was cancelled: it must not requeue"
[ "$(state "${array_job}_2")" = COMPLETED ] || fail "task 2: $(state "${array_job}_2")"
[ "$(state "$final_job")" = COMPLETED ] || { cat "$final"; fail "final job $final_job: $(state "$final_job")"; }
expect_in "$final" "3/3 points done"
n=$(computed "$final")
[ "${n:-0}" -gt 0 ] || { cat "$final"; fail "the final job should have computed task 1's missing blocks"; }
log "final job computed the $n blocks task 1 left missing, and assembled"
compare trouble.h5 "requeued + cancelled tasks + final job"

# ---- 4. bad input: exit code 1, no requeue ----
id=$(sbatch --parsable -J sd-bad -o "$S/bad-%j.out" "$ROOT/slurm/sweep.sbatch" --config missing.ini \
  --output.path bad.h5)
submitted+=("$id")
wait_gone "$id" 60
report "$id" "4: bad config"
scontrol show job "$id" | grep -q 'ExitCode=1:0' || { cat "$S/bad-$id.out"; fail "bad config: expected exit 1"; }
scontrol show job "$id" | grep -q 'Restarts=0 ' || fail "a job with a bad config must not be requeued"
expect_in "$S/bad-$id.out" "missing.ini"
expect_in "$S/bad-$id.out" "not requeueing"
[ ! -e bad.h5 ] || fail "a failed run left bad.h5"

# ---- 5. an array whose task ids skip (0,2): refused, since a share of the blocks would be lost ----
id=$(sbatch --parsable --array=0-2:2 -J sd-gap -o "$S/gap-%A_%a.out" "$ROOT/slurm/sweep.sbatch" --config sweep.ini \
  --output.path gap.h5)
submitted+=("$id")
for t in 0 2; do wait_gone "${id}_$t" 60; done
for t in 0 2; do
  report "${id}_$t" "5: array task $t of a gapped array"
  scontrol show job "${id}_$t" | grep -q 'ExitCode=1:0' || { cat "$S/gap-${id}_$t.out"; fail "gapped array: expected exit 1"; }
  expect_in "$S/gap-${id}_$t.out" "submit a gap-free range"
done
if [ -e gap.h5 ] || [ -e gap.h5.work ]; then fail "a refused array task left gap.h5 or its work folder"; fi

log "PASSED"
