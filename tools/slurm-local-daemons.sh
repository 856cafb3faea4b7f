#!/usr/bin/env bash
# Shared by slurm-local-up.sh and slurm-local-down.sh (sourced): handle the daemons only through their own
# pid files, never by name, so nothing else on the machine is touched.
# shellcheck disable=SC2034  # the variables below are for the scripts that source this file

# The private folder of tools/slurm-local-up.sh and where each daemon keeps its pid file.
DIR=${SLURM_LOCAL_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/slurm-local}
CONF=$DIR/slurm.conf
MUNGE_SOCKET=$DIR/munge/munge.socket
MUNGED_PID=$DIR/run/munged.pid
SLURMCTLD_PID=$DIR/run/slurmctld.pid
SLURMD_PID=$DIR/run/slurmd.pid

# alive PIDFILE COMM: the PID in PIDFILE runs and really is COMM (a stale file may name another process).
alive() { [ -s "$1" ] && [ "$(cat /proc/"$(cat "$1")"/comm 2>/dev/null)" = "$2" ]; }
# stop_pidfile PIDFILE COMM: TERM (then KILL after 10 s) that one PID.
stop_pidfile() {
  local p
  alive "$1" "$2" || { rm -f "$1"; return 0; }
  p=$(cat "$1")
  kill -TERM "$p"
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then
    echo "slurm-local: $2 ($p) ignored TERM, sending KILL" >&2
    kill -KILL "$p"
  fi
  rm -f "$1"
}
