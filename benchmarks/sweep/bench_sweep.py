#!/usr/bin/python3
"""Shared sweep vs one switch point at a time, in the same run, on the bundled demo experts.

For each sweep (the demo's 5 switch sigmas; every grid index, sweep.steps = all), runs
  1. `switchdiff sweep` over all points (one pass, shared trunks),
  2. the same sweep one point at a time (K runs of one point: nothing to share),
  3. the shared sweep without the feature extractor (its wall time difference to 1 is the extraction's share),
and prints network evaluations (from the results file's /performed attributes) and wall times as a Markdown
table for docs/performance.md. Runs on one rank with OMP_NUM_THREADS=1 unless told otherwise.

Usage: benchmarks/sweep/bench_sweep.py [--samples 128] [--test-images 4] [--out build/bench_sweep]
       [--sweeps demo,all]
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

import h5py

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXE = os.environ.get("SWITCHDIFF_EXE", os.path.join(ROOT, "build", "src", "cli", "switchdiff"))
SWEEPS = {"demo": ["--sweep.sigmas", "0,0.1,0.5,2,80"], "all": ["--sweep.sigmas", "", "--sweep.steps", "all"]}
# sweep.steps = all has 19 points: its one-point-at-a-time reference is measured on sampling (and FID) only, which
# keeps it to minutes; the PF-ODE goal is set for the demo's five points.
SAMPLING_ONLY = {"all"}


def run(args, out):
    """Wall seconds of one `switchdiff sweep` into `out` (a fresh path)."""
    start = time.monotonic()
    result = subprocess.run([EXE, "sweep", "--config", os.path.join(ROOT, "configs", "demo.ini"),
                             "--output.path", out] + args, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"bench_sweep: switchdiff failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return time.monotonic() - start


def performed(path):
    a = h5py.File(path, "r")["performed"].attrs
    return {k: int(a[k]) for k in a}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--test-images", type=int, default=4)
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench_sweep"))
    parser.add_argument("--sweeps", default="demo,all")
    opts = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    shutil.rmtree(opts.out, ignore_errors=True)
    os.makedirs(opts.out)
    rows = []
    for name in opts.sweeps.split(","):
        test_images = 0 if name in SAMPLING_ONLY else opts.test_images
        budget = ["--samples.count", str(opts.samples), "--nll.count", str(test_images), "--run.threads", "1"]
        points_args = SWEEPS[name] + budget
        shared_path = os.path.join(opts.out, f"{name}_shared.h5")
        shared_s = run(points_args, shared_path)
        shared = performed(shared_path)
        f = h5py.File(shared_path, "r")
        sigmas = list(f["sweep/switch_sigma"][:])
        steps = list(f["sweep/switch_step"][:])
        f.close()
        naive = {}
        naive_s = 0.0
        for k, (sigma, step) in enumerate(zip(sigmas, steps)):
            one = os.path.join(opts.out, f"{name}_one_{k}.h5")
            key = ["--sweep.sigmas", "", "--sweep.steps", str(step)] if step >= 0 else ["--sweep.sigmas", repr(sigma)]
            naive_s += run(key + budget, one)
            for key_name, value in performed(one).items():
                naive[key_name] = naive.get(key_name, 0) + value
        no_features_s = run(points_args + ["--fid.extractor", "", "--fid.reference", ""],
                            os.path.join(opts.out, f"{name}_nofeatures.h5"))

        def total(d, what):
            return d[f"{what}_quality"] + d[f"{what}_likelihood"]

        rows.append((name, len(sigmas), total(shared, "sample"), total(naive, "sample"), total(shared, "nll"),
                     total(naive, "nll"), total(shared, "elbo"), total(naive, "elbo"), shared_s, naive_s,
                     (shared_s - no_features_s) / shared_s))
    print(f"samples = {opts.samples}, test images = {opts.test_images}, 1 rank, OMP_NUM_THREADS = "
          f"{os.environ['OMP_NUM_THREADS']}\n")
    print("| sweep | K | sampling NFE shared / naive | PF-ODE NFE shared / naive | ELBO NFE shared / naive | "
          "wall shared / naive | feature extraction share |")
    print("|---|---|---|---|---|---|---|")
    def ratio(a, b):
        return f"{a} / {b} = {a / b:.3f}" if b else "-"

    for (name, k, ss, sn, ns, nn, es, en, ws, wn, fx) in rows:
        print(f"| {name} | {k} | {ratio(ss, sn)} | {ratio(ns, nn)} | {ratio(es, en)} | "
              f"{ws:.0f} s / {wn:.0f} s = {ws / wn:.3f} | {100 * fx:.0f}% |")


if __name__ == "__main__":
    main()
