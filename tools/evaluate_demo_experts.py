#!/usr/bin/python3
"""Do the bundled demo experts show the trade-off the paper starts from? Measured with
switchdiff's own commands, as paired comparisons (same seeds, same test images, same dequantization noise).

    /usr/bin/python3 tools/evaluate_demo_experts.py [--samples 1000] [--test-images 64] [--out results/demo_evaluation]

1. `switchdiff sweep` with the two pure experts as its points (switch sigma 0 = quality expert alone,
   80 = sigma_max = likelihood expert alone), keeping the samples: FID with the demo classifier's features
   (not Inception) against the training set, and PF-ODE bits/dim on the first test images.
2. bits/dim: per-image paired differences (the same image, the same dequantization and Hutchinson noise under
   both experts): mean and standard error.
3. FID: the difference of the two full-sample FIDs, and its delete-a-group jackknife standard error (Efron &
   Tibshirani 1993, ch. 11): the samples are cut into G seed groups; FID_(-g) is computed by `switchdiff fid`
   on the samples minus group g, for both experts (the same seeds), and
   SE = sqrt((G-1)/G * sum_g (d_(-g) - mean d)^2) with d = FID_quality - FID_likelihood.
Writes <out>/evaluation.json and prints a table. Python moves data and does the final arithmetic only.
"""
import argparse
import json
import math
import os
import subprocess
import sys

import h5py
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SWITCHDIFF = os.path.join(ROOT, "build", "src", "cli", "switchdiff")


def run(args):
    p = subprocess.run([SWITCHDIFF] + args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if p.returncode != 0:
        sys.exit(f"switchdiff {' '.join(args)} failed (exit {p.returncode}):\n{p.stdout[-3000:]}")
    return p.stdout


def fid_of(images, path):
    """FID (classifier features) of uint8 images [N,1,28,28] against the demo reference, by `switchdiff fid`."""
    with h5py.File(path, "w") as f:
        f["images"] = images
    out = run(["fid", "--config", "configs/demo.ini", "--samples", path])
    os.remove(path)
    return float(out.split("FID: ")[1].split()[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--test-images", type=int, default=64)
    ap.add_argument("--groups", type=int, default=10)
    ap.add_argument("--out", default="results/demo_evaluation")
    a = ap.parse_args()
    out = os.path.join(ROOT, a.out)
    os.makedirs(out, exist_ok=True)
    results = os.path.join(out, "sweep.h5")
    run(["sweep", "--config", "configs/demo.ini", "--sweep.sigmas", "0, 80", "--samples.count", str(a.samples),
         "--nll.count", str(a.test_images), "--sweep.keep_samples", "true", "--output.path", results])

    with h5py.File(results, "r") as f:
        fid = f["sweep/fid"][()]
        metric = f["sweep"].attrs.get("fid_metric", "FID")
        bpd = [f[f"points/{k}/nll_bpd_per_image"][()] for k in (0, 1)]
        nfe = f["sweep/nll_nfe_mean"][()]
    diff = bpd[0] - bpd[1]  # quality - likelihood, per test image
    bpd_diff, bpd_se = float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(len(diff)))

    images = []
    for k in (0, 1):
        with h5py.File(os.path.join(results + ".work", f"point_{k}.samples.h5"), "r") as f:
            images.append(f["images"][()])
    groups = np.array_split(np.arange(a.samples), a.groups)
    leave_out = []
    for g, idx in enumerate(groups):
        keep = np.setdiff1d(np.arange(a.samples), idx)
        pair = [fid_of(images[k][keep], os.path.join(out, f"jackknife_{k}.h5")) for k in (0, 1)]
        leave_out.append(pair[0] - pair[1])
        print(f"jackknife group {g}: FID quality {pair[0]:.3f}, likelihood {pair[1]:.3f}", flush=True)
    leave_out = np.array(leave_out)
    fid_diff = float(fid[0] - fid[1])
    fid_se = float(math.sqrt((a.groups - 1) / a.groups * ((leave_out - leave_out.mean()) ** 2).sum()))

    report = {
        "metric": metric, "samples": a.samples, "test_images": a.test_images, "jackknife_groups": a.groups,
        "fid_quality": float(fid[0]), "fid_likelihood": float(fid[1]),
        "fid_difference_quality_minus_likelihood": fid_diff, "fid_difference_stderr": fid_se,
        "bpd_quality": float(bpd[0].mean()), "bpd_likelihood": float(bpd[1].mean()),
        "bpd_difference_quality_minus_likelihood": bpd_diff, "bpd_difference_stderr": bpd_se,
        "nll_nfe_mean": [float(x) for x in nfe], "results_file": os.path.relpath(results, ROOT),
    }
    with open(os.path.join(out, "evaluation.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(f"\n{'':24} {'quality expert':>16} {'likelihood expert':>18} {'difference (q - l)':>24}")
    print(f"{metric:24.24} {fid[0]:16.3f} {fid[1]:18.3f} {fid_diff:14.3f} ± {fid_se:.3f}")
    print(f"{'NLL bits/dim':24} {bpd[0].mean():16.4f} {bpd[1].mean():18.4f} {bpd_diff:14.4f} ± {bpd_se:.4f}")
    print(f"\nFID: the quality expert is better by {-fid_diff / fid_se:.1f} SE; bits/dim: the likelihood expert is "
          f"better by {bpd_diff / bpd_se:.1f} SE ({a.samples} samples, {a.test_images} test images, paired).")


if __name__ == "__main__":
    main()
