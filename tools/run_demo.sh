#!/usr/bin/env bash
# The main job on the embedded default (README): a small switch-point sweep of the bundled Fashion-MNIST
# demo experts with `switchdiff sweep` (configs/demo.ini: 5 switch sigmas, 512 samples and FID with the
# demo classifier's features, PF-ODE bits/dim and ELBO on 16 test images). On first use the sweep converts
# Debian's Fashion-MNIST into data/ and computes the reference statistics of the training set.
# Re-running resumes (finished points are kept); results in results/demo_sweep.h5, then a table and plots.
# Knobs: RANKS=2 (MPI ranks), and any `switchdiff sweep` key as arguments, e.g. --samples.count 2048.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh >/dev/null   # installs missing Debian packages first
RANKS=${RANKS:-1}
SD=build/src/cli/switchdiff
if [ "$RANKS" -gt 1 ]; then
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np "$RANKS" --oversubscribe "$SD" sweep "$@"
else
  "$SD" sweep "$@"
fi
out=results/demo_sweep.h5
prev=""
for arg in "$@"; do
  case "$arg" in --output.path=*) out=${arg#*=} ;; esac
  [ "$prev" = --output.path ] && out=$arg
  prev=$arg
done
if [ -f analysis/sweep_table.py ]; then /usr/bin/python3 analysis/sweep_table.py "$out" || true; fi
if [ -f analysis/plot_sweep.py ]; then /usr/bin/python3 analysis/plot_sweep.py "$out" --out results/demo_sweep || true; fi
if [ -f analysis/report.py ]; then
  if report=$(/usr/bin/python3 analysis/report.py "$out" --out results/demo_report); then echo "report: $report (and ${report%.html}.md)"; fi
fi
