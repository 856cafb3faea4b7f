#!/usr/bin/python3
"""Peak memory (max RSS) of one rank of `switchdiff sweep`: the demo (5 points, batch 64) and a 3x32x32
stand-in expert pair at samples.batch 256 (5 points, sampling only). Prints a Markdown table.

Usage: benchmarks/sweep/peak_memory.py [--out build/bench_memory] [--samples 256]
"""
import argparse
import os
import shutil
import subprocess
import sys

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import tiny_networks as tn  # noqa: E402  (the test fixtures' small EDM-style networks)

EXE = os.environ.get("SWITCHDIFF_EXE", os.path.join(ROOT, "build", "src", "cli", "switchdiff"))


def standin(path, seed):
    torch.manual_seed(seed)
    torch.jit.script(tn.TinyEdmExpert(channels=3, resolution=32)).save(path)


def peak_mib(args, out_dir, name):
    report = os.path.join(out_dir, name + ".rss")
    cmd = ["/usr/bin/time", "-f", "%M", "-o", report, EXE, "sweep", "--output.path",
           os.path.join(out_dir, name + ".h5"), "--run.threads", "1"] + args
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"peak_memory: {name} failed:\n{result.stdout}{result.stderr}")
    return int(open(report).read().split()[-1]) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench_memory"))
    parser.add_argument("--samples", type=int, default=256)
    opts = parser.parse_args()
    shutil.rmtree(opts.out, ignore_errors=True)
    os.makedirs(opts.out)
    q, l = os.path.join(opts.out, "q32.pt"), os.path.join(opts.out, "l32.pt")
    standin(q, 1)
    standin(l, 2)
    demo = peak_mib(["--config", "configs/demo.ini", "--samples.count", str(opts.samples), "--nll.count", "2"],
                    opts.out, "demo")
    cifar = peak_mib(["--experts.quality", q, "--experts.likelihood", l, "--sweep.sigmas", "0,0.1,0.5,2,80",
                      "--samples.count", str(opts.samples), "--samples.batch", "256", "--sweep.fid_jackknife_groups",
                      "0"], opts.out, "standin_3x32x32")
    print("| sweep | batch | peak RSS per rank |\n|---|---|---|")
    print(f"| demo (1x28x28, 5 points, {opts.samples} samples, 2 test images) | 64 | {demo:.0f} MiB |")
    print(f"| 3x32x32 stand-in (5 points, {opts.samples} samples, sampling only) | 256 | {cifar:.0f} MiB |")


if __name__ == "__main__":
    main()
