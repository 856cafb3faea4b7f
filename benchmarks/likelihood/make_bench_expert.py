#!/usr/bin/python3
"""Writes a TorchScript EDM expert for the likelihood benchmark: tests/fixtures/tiny_networks.py's
TinyEdmExpert (3x3 convolutions, EDM preconditioning) at a chosen size, fixed seed.

Usage: /usr/bin/python3 benchmarks/likelihood/make_bench_expert.py --out FILE [--channels 3 --resolution 16
       --width 32 --seed 1]
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures"))
import tiny_networks as tn  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--resolution", type=int, default=16)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(1)
    module = tn.TinyEdmExpert(channels=a.channels, resolution=a.resolution, width=a.width)
    tn.init_weights(module, a.seed)
    torch.jit.script(module.eval()).save(a.out)


if __name__ == "__main__":
    main()
