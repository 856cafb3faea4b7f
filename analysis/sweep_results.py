"""Reads a `switchdiff sweep` results file (docs/formats.md) for the scripts in analysis/, and the two selections
they share: the best points and the Pareto-optimal ones.

/sweep holds one row per sweep point as 1-D columns of equal length K; /points/<k>/ holds point k's
arrays (nll_bpd_per_image: bits/dim of each test image, in test-index order). A bad file ends the
program with exit code 1 and a message that says what is wrong and what to do (docs/cli.md).
"""
import math
import os
import sys

import numpy as np

# docs/formats.md /sweep columns that every sweep file has; elbo_bpd_stderr is optional (NaN when absent).
REQUIRED_COLUMNS = ("switch_sigma", "switch_step", "fid", "inception_score", "n_samples", "nll_bpd",
                    "nll_bpd_stderr", "n_test", "nll_nfe_mean", "elbo_bpd", "sample_nfe_mean", "status")
STATUS_NAMES = {0: "pending", 1: "partial", 2: "done"}
DONE = 2


def fail(message):
    """Prints `<program>: error: message` and exits with code 1 (bad input, docs/cli.md)."""
    print(f"{os.path.basename(sys.argv[0])}: error: {message}", file=sys.stderr)
    sys.exit(1)


class SweepResults:
    """Columns of /sweep as float64 numpy arrays (integers converted), plus the file's labels."""

    def __init__(self, path, columns, fid_label, root_attrs, points):
        self.path = path
        self.columns = columns
        self.fid_label = fid_label  # "FID (<extractor> features)" when /sweep has fid_metric, else "FID"
        self.root_attrs = root_attrs
        self.points = points  # {k: {dataset name: numpy array}} for the per-point arrays we use

    def __len__(self):
        return len(self.columns["switch_sigma"])

    def __getitem__(self, name):
        return self.columns[name]

    def done(self):
        return self.columns["status"] == DONE


def load(path, per_image=False):
    """Loads `path`; with per_image, also /points/<k>/{nll,elbo}_bpd_per_image."""
    import h5py  # Debian python3-h5py; imported here so --help works without it

    if not os.path.exists(path):
        fail(f"{path}: no such file; give the results file that `switchdiff sweep` wrote (its --output.path)")
    if not h5py.is_hdf5(path):
        fail(f"{path}: not an HDF5 file; give the results file that `switchdiff sweep` wrote")
    with h5py.File(path, "r") as f:
        if "sweep" not in f or not isinstance(f["sweep"], h5py.Group):
            fail(f"{path}: has no /sweep group, so it is not a sweep results file (docs/formats.md); the outputs of "
                 "sample/nll/stats/fid hold one run each: use `switchdiff sweep` for a table of switch points")
        group = f["sweep"]
        missing = [c for c in REQUIRED_COLUMNS if c not in group]
        if missing:
            fail(f"{path}: /sweep lacks the column(s) {', '.join(missing)} (docs/formats.md lists them); was it written "
                 "by another version of switchdiff?")
        columns = {name: np.asarray(group[name][()], dtype=np.float64) for name in group
                   if isinstance(group[name], h5py.Dataset) and group[name].ndim == 1}
        lengths = {name: len(v) for name, v in columns.items()}
        if len(set(lengths.values())) != 1:
            fail(f"{path}: /sweep columns have different lengths {lengths}; the file is inconsistent")
        for optional in ("elbo_bpd_stderr", "fid_stderr"):  # written by newer versions only
            if optional not in columns:
                columns[optional] = np.full(lengths["switch_sigma"], np.nan)
        metric = group.attrs.get("fid_metric")
        if isinstance(metric, bytes):
            metric = metric.decode()
        root_attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        points = {}
        if per_image and "points" in f:
            for name, g in f["points"].items():
                if name.isdigit():
                    points[int(name)] = {d: np.asarray(g[d][()], dtype=np.float64)
                                         for d in ("nll_bpd_per_image", "elbo_bpd_per_image", "fid_leave_one_out")
                                         if d in g}
    return SweepResults(path, columns, str(metric) if metric else "FID", root_attrs, points)


def argmin_finite(values, mask):
    """Index of the smallest finite value among rows where mask is true; None if there is none."""
    candidates = [i for i in range(len(values)) if mask[i] and math.isfinite(values[i])]
    return min(candidates, key=lambda i: (values[i], i)) if candidates else None


def pareto_optimal(fid, bpd, mask):
    """Rows (where mask is true and both values are finite) that no other such row dominates, both metrics
    lower-is-better: j dominates i when fid_j <= fid_i and bpd_j <= bpd_i with one of them strictly lower.

    Sort by (fid, bpd) and sweep: a row is non-dominated iff its bpd is below every bpd seen so far, or it
    equals the last non-dominated row exactly (equal rows do not dominate each other). O(K log K)."""
    rows = [i for i in range(len(fid)) if mask[i] and math.isfinite(fid[i]) and math.isfinite(bpd[i])]
    rows.sort(key=lambda i: (fid[i], bpd[i], i))
    optimal, best_bpd, last = set(), math.inf, None
    for i in rows:
        if bpd[i] < best_bpd:
            optimal.add(i)
            best_bpd, last = bpd[i], (fid[i], bpd[i])
        elif (fid[i], bpd[i]) == last:
            optimal.add(i)
    return optimal
