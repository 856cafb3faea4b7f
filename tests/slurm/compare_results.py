#!/usr/bin/python3
"""Exits 0 when two `switchdiff sweep` results files hold bitwise-equal results, else lists what differs (exit 1).

Usage: compare_results.py A.h5 B.h5
Compared, bitwise (names, dtypes, shapes, bytes; so NaN == NaN and -0 != 0):
  - every dataset under /sweep (the columns) and under /points (every point's arrays);
  - the attributes of /sweep, of each /points/<k> group (switch_sigma, switch_step, ...) and of /performed
    (the pass's network-evaluation counts, summed from the block records: split-independent too).
Also required: /sweep is not empty, its columns have one length, /points has one group per row, and every
row of both files has status done (2), so two equally unfinished files do not pass.
Ignored: the root attributes (command line, config text, created_utc, git_commit, world_size, ...) and
/experts (input paths): they describe how a run was made, and may differ between equal results.
"""
import sys

import h5py
import numpy as np

DONE = 2


def contents(f):
    """{name: value} for the compared datasets and attributes of one file."""
    out = {}

    def take(name, obj, top):
        path = f"/{top}/{name}"
        if isinstance(obj, h5py.Dataset):
            out[path] = obj[()]
        else:
            for key, value in obj.attrs.items():
                out[f"{path}@{key}"] = value

    for top in ("sweep", "points", "performed"):
        if top not in f:
            continue
        for key, value in f[top].attrs.items():
            out[f"/{top}@{key}"] = value
        f[top].visititems(lambda name, obj, top=top: take(name, obj, top))
    return out


def shape_problems(path, f):
    """What makes one file unfit to compare: no rows, ragged columns, missing points, points not done."""
    if "sweep" not in f or not len(f["sweep"]):
        return [f"{path}: no /sweep columns"]
    lengths = {name: len(col) for name, col in f["sweep"].items()}
    rows = lengths.get("status", 0)
    problems = []
    if rows == 0 or len(set(lengths.values())) != 1:
        problems.append(f"{path}: /sweep columns have lengths {lengths}")
    points = set(f["points"].keys()) if "points" in f else set()
    if points != {str(k) for k in range(rows)}:
        problems.append(f"{path}: /points holds {sorted(points)}, expected 0..{rows - 1}")
    status = np.asarray(f["sweep/status"]) if "status" in f["sweep"] else np.array([])
    if not np.all(status == DONE):
        problems.append(f"{path}: /sweep/status is {status.tolist()}, expected every point done ({DONE})")
    return problems


def same(x, y):
    if isinstance(x, (bytes, str)) or isinstance(y, (bytes, str)):
        return type(x) is type(y) and x == y, f"{x!r} vs {y!r}"
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype != y.dtype or x.shape != y.shape:
        return False, f"{x.dtype}{x.shape} vs {y.dtype}{y.shape}"
    return x.tobytes() == y.tobytes(), f"values differ: {x.ravel()[:4]} ... vs {y.ravel()[:4]} ..."


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare_results.py A.h5 B.h5")
    path_a, path_b = sys.argv[1:]
    with h5py.File(path_a, "r") as fa, h5py.File(path_b, "r") as fb:
        problems = shape_problems(path_a, fa) + shape_problems(path_b, fb)
        a, b = contents(fa), contents(fb)
        rows = len(fa["sweep/status"]) if "sweep" in fa and "status" in fa["sweep"] else 0
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            problems.append(f"{name}: only in {path_a if name in a else path_b}")
            continue
        ok, why = same(a[name], b[name])
        if not ok:
            problems.append(f"{name}: {why}")
    for p in problems:
        print("differs:", p)
    n_data = sum(1 for k in a if "@" not in k)
    print(f"compared {n_data} datasets and {len(a) - n_data} attributes of {rows} points: "
          f"{'bitwise equal' if not problems else f'{len(problems)} problem(s)'}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
