#!/usr/bin/python3
"""Exits 0 when two switchdiff results files hold bitwise-equal data, else lists what differs (exit 1).

Usage: compare_results.py A.h5 B.h5
Compares every dataset under /sweep and /points (names, dtypes, shapes, bytes; so NaN == NaN and -0 != 0).
Attributes are not compared: they hold times, command lines and the rank count, which may differ.
"""
import sys

import h5py
import numpy as np


def datasets(f):
    out = {}
    for top in ("sweep", "points"):
        if top not in f:
            continue
        f[top].visititems(lambda name, obj, top=top: out.__setitem__(f"/{top}/{name}", obj[()])
                          if isinstance(obj, h5py.Dataset) else None)
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare_results.py A.h5 B.h5")
    with h5py.File(sys.argv[1], "r") as fa, h5py.File(sys.argv[2], "r") as fb:
        a, b = datasets(fa), datasets(fb)
    problems = []
    if not a:
        problems.append(f"{sys.argv[1]} has no datasets under /sweep or /points")
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            problems.append(f"{name}: only in {sys.argv[1] if name in a else sys.argv[2]}")
            continue
        x, y = np.asarray(a[name]), np.asarray(b[name])
        if x.dtype != y.dtype or x.shape != y.shape:
            problems.append(f"{name}: {x.dtype}{x.shape} vs {y.dtype}{y.shape}")
        elif x.tobytes() != y.tobytes():
            problems.append(f"{name}: values differ: {x.ravel()[:4]} ... vs {y.ravel()[:4]} ...")
    for p in problems:
        print("differs:", p)
    print(f"compared {len(a)} datasets: {'bitwise equal' if not problems else f'{len(problems)} differ'}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
