"""Shared by the fault tests (tests/faults/): tiny inputs, running switchdiff, comparing HDF5 files bitwise."""
import os
import subprocess
import sys

import h5py
import numpy as np

ROOT = os.environ.get("SWITCHDIFF_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
EXE = os.environ.get("SWITCHDIFF_EXE", os.path.join(ROOT, "build", "src", "cli", "switchdiff"))
SKIP = 77  # CTest SKIP_RETURN_CODE

# Root attributes that describe the run, not the results (time, command line with its output path).
RUN_ATTRIBUTES = {"created_utc", "command", "config", "world_size", "switchdiff_version", "git_commit"}


def run(args, env=None, prefix=()):
    """switchdiff <args> (optionally under `prefix`, e.g. strace); (returncode, combined output)."""
    full_env = dict(os.environ, OMP_NUM_THREADS="1")
    full_env.update(env or {})
    p = subprocess.run(list(prefix) + [EXE] + list(args), capture_output=True, text=True, env=full_env)
    return p.returncode, p.stdout + p.stderr


def make_inputs(scratch):
    """Tiny experts, a 40-image test set and its reference statistics; returns a dict of paths."""
    fixtures = os.path.join(scratch, "fixtures")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "fixtures", "make_tiny_experts.py"), "--out", fixtures],
                   check=True, capture_output=True)
    paths = {name: os.path.join(fixtures, name + ".pt") for name in ("tiny_edm", "tiny_edm_b", "tiny_features")}
    paths["data"] = os.path.join(scratch, "data.h5")
    paths["ref"] = os.path.join(scratch, "ref.h5")
    rc, out = run(["sample", "--experts.quality", paths["tiny_edm"], "--samples.count", "40", "--samples.seed_base",
                   "1000", "--sampler.steps", "4", "--output.path", paths["data"]])
    assert rc == 0, out
    rc, out = run(["stats", "--fid.extractor", paths["tiny_features"], "--dataset", paths["data"], "--output.path",
                   paths["ref"]])
    assert rc == 0, out
    return paths


def remove_output(path):
    for p in (path, path + ".partial"):
        if os.path.exists(p):
            os.remove(p)
    subprocess.run(["rm", "-rf", path + ".work", path + ".samples"], check=True)


def differences(a, b):
    """Every dataset and every non-run attribute of two HDF5 files, compared bitwise; a list of differences."""
    found = []

    def attributes(obj):
        return {k: obj.attrs[k] for k in obj.attrs if k not in RUN_ATTRIBUTES}

    def same_value(x, y):
        x, y = np.asarray(x), np.asarray(y)
        return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()

    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        names_a, names_b = [], []
        fa.visit(names_a.append)
        fb.visit(names_b.append)
        if sorted(names_a) != sorted(names_b):
            found.append("objects differ: {} vs {}".format(sorted(set(names_a) ^ set(names_b)), ""))
        for name in ["/"] + sorted(set(names_a) & set(names_b)):
            oa, ob = fa[name], fb[name]
            ta, tb = attributes(oa), attributes(ob)
            if sorted(ta) != sorted(tb):
                found.append("{}: attributes {} vs {}".format(name, sorted(ta), sorted(tb)))
            for key in set(ta) & set(tb):
                if not same_value(ta[key], tb[key]):
                    found.append("{}: attribute {}: {!r} vs {!r}".format(name, key, ta[key], tb[key]))
            if isinstance(oa, h5py.Dataset) and not same_value(oa[()], ob[()]):
                found.append("{}: values differ".format(name))
    return found
