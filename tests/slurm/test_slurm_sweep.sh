#!/usr/bin/env bash
# slurm/ and the submission flow, end to end on a real single-node SLURM cluster (tools/slurm-local-up.sh),
# with a 3-point sweep of the tiny test experts:
#  1. preemption: slurm/sweep.sbatch with 2 ranks gets `scancel --batch --signal=USR1` while it samples;
#     switchdiff saves and exits 3, the job requeues itself (SLURM_RESTART_COUNT=1 in the appended log),
#     resumes, and its results equal an uninterrupted serial run bitwise;
#  2. array + dependency (slurm/submit_sweep.sh, as jobs/demo_sweep.sh uses it): task 0 is stopped with
#     requeueing off (SWITCHDIFF_MAX_REQUEUES=0) and ends with exit 3; the afterany job finishes that point
#     from its saved progress; the results again equal the serial run bitwise;
#  3. bad input: the job fails with exit code 1 and is not requeued.
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
if ! alive /run/slurmctld.pid slurmctld; then
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
# wait_gone ID [S]: until the job (all its array tasks) left the queue
wait_gone() {
  local end=$(($(date +%s) + ${2:-300}))
  while squeue -h -j "$1" 2>/dev/null | grep -q .; do
    [ "$(date +%s)" -lt "$end" ] || fail "job $1 still queued after ${2:-300}s"
    sleep 0.2
  done
}
# wait_file ID FILE: until FILE exists while job ID is running (its progress has been saved once)
wait_file() {
  local end=$(($(date +%s) + 180))
  until [ -e "$2" ]; do
    [ "$(date +%s)" -lt "$end" ] || fail "job $1 never wrote $2"
    squeue -h -j "$1" 2>/dev/null | grep -q . || fail "job $1 ended before writing $2"
    sleep 0.1
  done
}
expect_in() {  # expect_in FILE TEXT: fail with the file shown when TEXT is missing
  grep -qF -- "$2" "$1" || { cat "$1"; fail "$1 lacks '$2'"; }
}

# ---- 1. preemption of a 2-rank job: signal, exit 3, requeue, resume, bitwise-equal results ----
id=$(sbatch --parsable -n 2 -J sd-preempt -o "$S/preempt-%j.out" "$ROOT/slurm/sweep.sbatch" \
  --config sweep.ini --output.path preempt.h5)
submitted+=("$id")
wait_file "$id" preempt.h5.work/point_0.samples.h5.partial
sleep 0.5
log "job $id is sampling point 0; scancel --batch --signal=USR1"
scancel --batch --signal=USR1 "$id"
wait_gone "$id"
out=$S/preempt-$id.out
log "job $id: $(state "$id")"
[ "$(state "$id")" = COMPLETED ] || { cat "$out"; fail "job $id ended $(state "$id"), expected COMPLETED"; }
scontrol show job "$id" | grep -q 'Restarts=1 ' || { scontrol show job "$id"; fail "job $id: expected Restarts=1"; }
expect_in "$out" "SLURM_RESTART_COUNT=0"
expect_in "$out" "received SIGUSR1; forwarding it to the job step"
expect_in "$out" "run the same command again to resume"
expect_in "$out" "stopped with progress saved (exit 3); requeued job $id"
expect_in "$out" "SLURM_RESTART_COUNT=1"
expect_in "$out" "switchdiff sweep on 2 rank(s)"
# the second run continued point 0's samples instead of starting over
[ "$(grep -c 'resuming' "$out")" -ge 1 ] || { cat "$out"; fail "the requeued run did not resume saved progress"; }
expect_in "$out" "3/3 points done"
"$PY" "$ROOT/tests/slurm/compare_results.py" serial.h5 preempt.h5 || fail "requeued 2-rank results != serial run"
[ "$("$PY" -c 'import h5py,sys; print(h5py.File(sys.argv[1])["/"].attrs["world_size"])' preempt.h5)" = 2 ] ||
  fail "preempt.h5 was not written by 2 ranks"

# ---- 2. array + dependent assembly job; one task stopped for good, the last job finishes its point ----
submit_out=$(SWEEP_LOG_DIR=$S/logs SWITCHDIFF_MAX_REQUEUES=0 "$ROOT/slurm/submit_sweep.sh" \
  --config sweep.ini --output.path array.h5)
echo "$submit_out"
array_job=$(grep -oP 'array_job=\K\d+' <<<"$submit_out")
final_job=$(grep -oP 'final_job=\K\d+' <<<"$submit_out")
submitted+=("$array_job" "$final_job")
grep -q 'points=3$' <<<"$submit_out" || fail "submit_sweep.sh sized the sweep wrong: $submit_out"
wait_file "${array_job}_0" array.h5.work/point_0.samples.h5.partial
sleep 0.5
log "array task ${array_job}_0 is sampling; scancel --batch --signal=USR1 (requeueing off)"
scancel --batch --signal=USR1 "${array_job}_0"
wait_gone "$final_job" 400
task0=$S/logs/switchdiff-point-${array_job}_0.out
final=$S/logs/switchdiff-sweep-$final_job.out
log "array: $(state "${array_job}_0"),$(state "${array_job}_1"),$(state "${array_job}_2"); final: $(state "$final_job")"
expect_in "$task0" "SWITCHDIFF_MAX_REQUEUES=0 reached, not requeueing"
scontrol show job "${array_job}_0" | grep -q 'ExitCode=3:0' || fail "task 0 should end with exit code 3"
for t in 1 2; do [ "$(state "${array_job}_$t")" = COMPLETED ] || fail "array task $t: $(state "${array_job}_$t")"; done
[ "$(state "$final_job")" = COMPLETED ] || { cat "$final"; fail "final job $final_job: $(state "$final_job")"; }
expect_in "$final" "3/3 points done (1 computed by this run)"
expect_in "$final" "resuming"
"$PY" "$ROOT/tests/slurm/compare_results.py" serial.h5 array.h5 || fail "array + final job results != serial run"

# ---- 3. bad input: exit code 1, no requeue ----
id=$(sbatch --parsable -J sd-bad -o "$S/bad-%j.out" "$ROOT/slurm/sweep.sbatch" --config missing.ini \
  --output.path bad.h5)
submitted+=("$id")
wait_gone "$id" 60
scontrol show job "$id" | grep -q 'ExitCode=1:0' || { cat "$S/bad-$id.out"; fail "bad config: expected exit 1"; }
scontrol show job "$id" | grep -q 'Restarts=0 ' || fail "a job with a bad config must not be requeued"
expect_in "$S/bad-$id.out" "missing.ini"
expect_in "$S/bad-$id.out" "not requeueing"
[ ! -e bad.h5 ] || fail "a failed run left bad.h5"

log "PASSED"
