#!/usr/bin/env bash
# Stops what tools/slurm-local-up.sh started: cancels every job and waits until the queue is empty (so no
# slurmstepd or job process outlives slurmd), then stops slurmd, slurmctld and munged. Each daemon is
# stopped only through the PID in its own pid file, after checking /proc/PID/comm; never by name.
# Left behind on purpose, in the private folder (SLURM_LOCAL_DIR, default build/slurm-local): slurm.conf, the
# munge key, saved state and spool (start with SLURM_LOCAL_CLEAN=1 to wipe them) and log/*.log.
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "slurm-local-down: must run as root" >&2; exit 1; }
# shellcheck source=tools/slurm-local-daemons.sh
source "$(dirname "$0")/slurm-local-daemons.sh"  # DIR, CONF, pid files, alive, stop_pidfile
export SLURM_CONF=$CONF

if alive "$SLURMCTLD_PID" slurmctld; then
  jobs=$(squeue -h -o %A 2>/dev/null | sort -u)
  # shellcheck disable=SC2086  # one argument per job id
  [ -n "$jobs" ] && scancel --full $jobs
  for _ in $(seq 150); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
fi
# compute side first, so slurmd can still report its steps' ends to the controller
stop_pidfile "$SLURMD_PID" slurmd
stop_pidfile "$SLURMCTLD_PID" slurmctld
stop_pidfile "$MUNGED_PID" munged
echo "slurm down"
