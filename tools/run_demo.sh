#!/usr/bin/env bash
# The main job on the embedded default (README): a small switch-point sweep of the bundled
# Fashion-MNIST demo experts. For each switch sigma eta it samples, measures FID (classifier
# features) against the training set's statistics, and bits/dim (PF-ODE, and the ELBO) on test
# images, then prints one table. Everything lands in results/demo/; finished files are reused.
# Knobs: SAMPLES=512 NLL_IMAGES=16 ETAS="0 0.1 0.5 2 80" RANKS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh >/dev/null
SD=build/src/cli/switchdiff
OUT=results/demo
mkdir -p data "$OUT"
FMNIST=/usr/share/datasets/fashion-mnist
SAMPLES=${SAMPLES:-512}
NLL_IMAGES=${NLL_IMAGES:-16}
ETAS=${ETAS:-"0 0.1 0.5 2 80"}
RANKS=${RANKS:-1}
run() {
  if [ "$RANKS" -gt 1 ]; then
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np "$RANKS" --oversubscribe "$SD" "$@"
  else
    "$SD" "$@"
  fi
}

[ -f data/fashion-mnist-test.h5 ] || "$SD" prepare --input "$FMNIST/t10k-images-idx3-ubyte.gz" \
  --labels "$FMNIST/t10k-labels-idx1-ubyte.gz" --output.path data/fashion-mnist-test.h5
[ -f data/fashion-mnist-train.h5 ] || "$SD" prepare --input "$FMNIST/train-images-idx3-ubyte.gz" \
  --labels "$FMNIST/train-labels-idx1-ubyte.gz" --output.path data/fashion-mnist-train.h5
[ -f data/fashion-mnist-train-stats.h5 ] || run stats --config configs/demo.ini \
  --dataset data/fashion-mnist-train.h5 --output.path data/fashion-mnist-train-stats.h5

for eta in $ETAS; do
  p="$OUT/eta_$eta"
  [ -f "$p.samples.h5" ] || run sample --config configs/demo.ini --switch.sigma "$eta" \
    --samples.count "$SAMPLES" --output.path "$p.samples.h5" --png "$p.png"
  [ -f "$p.fid.h5" ] || run fid --config configs/demo.ini --samples "$p.samples.h5" --output.path "$p.fid.h5" \
    > "$p.fid.log"
  [ -f "$p.nll.h5" ] || run nll --config configs/demo.ini --switch.sigma "$eta" --nll.count "$NLL_IMAGES" \
    --output.path "$p.nll.h5" > "$p.nll.log"
done

echo
echo "switch-point sweep of the demo experts ($SAMPLES samples; $NLL_IMAGES test images; FID with Fashion-MNIST classifier features)"
/usr/bin/python3 - "$OUT" $ETAS <<'PY'
import sys, h5py, math
out, etas = sys.argv[1], sys.argv[2:]
print(f"{'eta':>8} {'FID':>10} {'NLL bpd':>16} {'ELBO bpd':>16} {'NFE/img':>8}")
for eta in etas:
    p = f"{out}/eta_{eta}"
    with h5py.File(p + ".fid.h5") as f:
        fid = float(f["fid"][()])
    with h5py.File(p + ".nll.h5") as f:
        a = f.attrs
        nll = f"{a['nll_bpd_mean']:.4f}±{a['nll_bpd_stderr']:.4f}"
        elbo = f"{a['elbo_bpd_mean']:.4f}±{a['elbo_bpd_stderr']:.4f}"
        nfe = a['nll_nfe_mean']
    print(f"{float(eta):>8.4g} {fid:>10.4f} {nll:>16} {elbo:>16} {nfe:>8.0f}")
print("eta = 0: quality expert alone; eta = 80: likelihood expert alone.")
PY
