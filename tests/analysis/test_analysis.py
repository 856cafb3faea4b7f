#!/usr/bin/python3
"""analysis/ (sweep_table, plot_sweep, compare_points) on results files built here with h5py in the docs/formats.md
layout, checked against independent computations in this test (brute-force Pareto set, numpy paired
statistics), and on a real `switchdiff sweep` result of tiny experts. Bad input: exit 1, clear message.
Env: SWITCHDIFF_EXE, SWITCHDIFF_BINARY_DIR (CTest sets both)."""
import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SWITCHDIFF_BINARY_DIR", os.path.join(ROOT, "build"))
EXE = os.environ.get("SWITCHDIFF_EXE", os.path.join(BUILD, "src", "cli", "switchdiff"))
SCRATCH = os.path.join(BUILD, "test_scratch", "analysis")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(script, *args):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "analysis", script)] + [str(a) for a in args],
                       capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def write_results(path, cols, per_image=None, fid_metric=None):
    """A results file in the docs/formats.md layout: /sweep columns, /points/<k>/ arrays, root attributes."""
    with h5py.File(path, "w") as f:
        f.attrs["switchdiff_version"] = "test"
        f.attrs["config"] = "[sweep]\nsigmas = ...\n"
        f.attrs["world_size"] = 1
        g = f.create_group("sweep")
        for name, values in cols.items():
            g.create_dataset(name, data=np.asarray(values))
        if fid_metric:
            g.attrs["fid_metric"] = fid_metric
        for k, arrays in (per_image or {}).items():
            p = f.create_group(f"points/{k}")
            for name, values in arrays.items():
                p.create_dataset(name, data=values)
            p.create_dataset("images", data=np.zeros((2, 1, 4, 4), np.uint8))


def brute_force_pareto(fid, bpd, ok):
    """i is optimal iff no j != i has fid_j <= fid_i, bpd_j <= bpd_i and one strictly lower."""
    rows = [i for i in range(len(fid)) if ok[i] and math.isfinite(fid[i]) and math.isfinite(bpd[i])]
    return {i for i in rows if not any(fid[j] <= fid[i] and bpd[j] <= bpd[i] and (fid[j] < fid[i] or bpd[j] < bpd[i])
                                       for j in rows if j != i)}


def synthetic_columns(rng, k, ties=False):
    fid = rng.uniform(2, 40, k)
    bpd = rng.uniform(2.9, 3.6, k)
    if ties:  # exact duplicates and shared coordinates exercise the tie rules
        fid[1], bpd[1] = fid[0], bpd[0]
        fid[2] = fid[3]
        bpd[4] = bpd[5]
    status = np.full(k, 2, np.int64)
    status[-1] = 0  # a pending point: NaN metrics, never marked
    fid[-1] = bpd[-1] = np.nan
    return {"switch_sigma": np.concatenate([[0.0], np.geomspace(0.002, 80, k - 1)]),
            "switch_step": np.arange(k, dtype=np.int64)[::-1] - 1, "fid": fid,
            "inception_score": rng.uniform(5, 10, k), "n_samples": np.full(k, 500, np.int64), "nll_bpd": bpd,
            "nll_bpd_stderr": rng.uniform(0.01, 0.05, k), "n_test": np.full(k, 50, np.int64),
            "nll_nfe_mean": rng.uniform(100, 300, k), "elbo_bpd": bpd + 0.1, "elbo_bpd_stderr": np.full(k, 0.02),
            "sample_nfe_mean": np.full(k, 35.0), "status": status}


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_table_and_pareto():
    rng = np.random.default_rng(7)
    for trial in range(12):
        cols = synthetic_columns(rng, 9, ties=trial % 2 == 1)
        path = os.path.join(SCRATCH, f"synthetic_{trial}.h5")
        write_results(path, cols, fid_metric="FID (toy-net features)" if trial == 0 else None)
        rc, out, err = run("sweep_table.py", path, "--csv", "-")
        rows = read_csv(out)
        ok = cols["status"] == 2
        expected = brute_force_pareto(cols["fid"], cols["nll_bpd"], ok)
        got = {int(r["point"]) for r in rows if r["pareto"] == "1"}
        check(rc == 0 and got == expected, f"trial {trial}: Pareto {sorted(got)} == brute force {sorted(expected)}")
        best_fid = int(np.nanargmin(np.where(ok, cols["fid"], np.nan)))
        best_bpd = int(np.nanargmin(np.where(ok, cols["nll_bpd"], np.nan)))
        check([r["best_fid"] for r in rows].count("1") == 1 and rows[best_fid]["best_fid"] == "1" and
              rows[best_bpd]["best_bpd"] == "1", f"trial {trial}: best FID row {best_fid}, best bpd row {best_bpd}")
        same = all(float(rows[i][c]) == float(cols[c][i]) or (math.isnan(float(rows[i][c])) and math.isnan(cols[c][i]))
                   for i in range(9) for c in ("switch_sigma", "fid", "nll_bpd", "nll_bpd_stderr", "elbo_bpd",
                                               "inception_score", "nll_nfe_mean", "status"))
        check(same, f"trial {trial}: CSV values equal the file's columns at full precision")
        if trial == 0:
            rc, md, _ = run("sweep_table.py", path)
            check(rc == 0 and "| FID (toy-net features) |" in md, "Markdown header uses /sweep fid_metric")
            line = [l for l in md.splitlines() if l.startswith(f"| {best_fid} |")][0]
            check("**best FID**" in line, f"Markdown marks row {best_fid} best FID: {line}")
            check(f"{cols['nll_bpd'][3]:.4f} ± {cols['nll_bpd_stderr'][3]:.4f}" in md, "Markdown shows bpd ± SE")
            pending = [l for l in md.splitlines() if l.startswith("| 8 |")][0]
            check("pending" in pending and "Pareto" not in pending, f"pending row is unmarked: {pending}")
        if trial == 1:
            rc, md, _ = run("sweep_table.py", path)
            check(rc == 0 and "| FID |" in md, "without fid_metric the column is plain FID")


def test_compare_points():
    rng = np.random.default_rng(11)
    n = 200
    hard = rng.normal(3.2, 0.4, n)  # per-image difficulty shared by both points: the pairing matters
    a = hard + rng.normal(0.0, 0.03, n)
    b = hard - 0.02 + rng.normal(0.0, 0.03, n)
    cols = synthetic_columns(rng, 4)
    cols["status"][:] = 2
    cols["status"][3] = 1
    path = os.path.join(SCRATCH, "paired.h5")
    write_results(path, cols, {0: {"nll_bpd_per_image": a, "elbo_bpd_per_image": a + 0.1},
                               2: {"nll_bpd_per_image": b, "elbo_bpd_per_image": b + 0.3},
                               1: {"nll_bpd_per_image": b[:150]}})
    rc, out, err = run("compare_points.py", path, 0, 2, "--json")
    s = json.loads(out)["nll_bpd"] if rc == 0 else {}
    d = a - b
    se = np.std(d, ddof=1) / math.sqrt(n)
    check(rc == 0 and abs(s["mean_diff"] - d.mean()) < 1e-12 and abs(s["se_paired"] - se) < 1e-12,
          f"paired mean {s.get('mean_diff')} vs numpy {d.mean()}, SE {s.get('se_paired')} vs numpy {se}")
    unpaired = math.sqrt(np.var(a, ddof=1) / n + np.var(b, ddof=1) / n)
    check(abs(s.get("se_unpaired", 0) - unpaired) < 1e-12 and s["se_paired"] < unpaired / 5,
          f"unpaired SE {s.get('se_unpaired')} (numpy {unpaired}) is much larger than the paired one")
    check(abs(s["t"] - d.mean() / se) < 1e-9 and 0 <= s["p_two_sided"] < 1e-6, f"t {s['t']}, p {s['p_two_sided']}")
    e = json.loads(out)["elbo_bpd"]
    check(abs(e["mean_diff"] - (d.mean() - 0.2)) < 1e-12, "ELBO paired difference from elbo_bpd_per_image")
    rc, text, _ = run("compare_points.py", path, 0, 2)
    check(rc == 0 and "paired SE" in text and f"{d.mean():+.6f} ± {se:.6f}" in text, "text output")
    for args, message in (((0, 3), "is partial, not done"), ((0, 9), "point 9 does not exist"),
                          ((0, 1), "not paired")):
        rc, _, err = run("compare_points.py", path, *args)
        check(rc == 1 and message in err, f"compare {args}: exit 1 with '{message}' ({rc}: {err.strip()})")


def test_plots(path, label):
    prefix = os.path.join(SCRATCH, "plots", label)
    rc, out, err = run("plot_sweep.py", path, "--out", prefix, "--formats", "png,pdf")
    for name in ("vs_eta.png", "tradeoff.png", "vs_eta.pdf", "tradeoff.pdf"):
        p = f"{prefix}_{name}"
        size = os.path.getsize(p) if os.path.exists(p) else 0
        magic = open(p, "rb").read(4) if size else b""
        check(rc == 0 and size > 5000 and magic in (b"\x89PNG", b"%PDF"), f"{label}: {name} written ({size} bytes)")


def test_bad_input():
    samples = os.path.join(SCRATCH, "not_a_sweep.h5")
    with h5py.File(samples, "w") as f:
        f.create_dataset("images", data=np.zeros((2, 1, 4, 4), np.uint8))
    text = os.path.join(SCRATCH, "text.h5")
    with open(text, "w") as f:
        f.write("not hdf5")
    for script in ("sweep_table.py", "plot_sweep.py", "compare_points.py"):
        extra = (0, 1) if script == "compare_points.py" else ()
        for path, message in ((os.path.join(SCRATCH, "missing.h5"), "no such file"),
                              (samples, "has no /sweep group"), (text, "not an HDF5 file")):
            rc, _, err = run(script, path, *extra)
            check(rc == 1 and message in err and os.path.basename(path) in err and "Traceback" not in err,
                  f"{script} {os.path.basename(path)}: exit 1, '{message}' ({rc}: {err.strip()[:120]})")


def real_sweep():
    """A 3-point `switchdiff sweep` of the tiny experts (as tests/cli does), ~3 s."""
    fixtures = os.path.join(SCRATCH, "fx")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "fixtures", "make_tiny_experts.py"), "--out", fixtures],
                   check=True, capture_output=True)
    sd = lambda *a: subprocess.run([EXE] + list(a) + ["--run.threads", "1"], capture_output=True, text=True)  # noqa
    data, ref, ini = (os.path.join(SCRATCH, n) for n in ("data.h5", "ref.h5", "sweep.ini"))
    assert sd("sample", "--experts.quality", f"{fixtures}/tiny_edm.pt", "--samples.count", "40", "--samples.seed_base",
              "1000", "--output.path", data).returncode == 0
    assert sd("stats", "--fid.extractor", f"{fixtures}/tiny_features.pt", "--dataset", data, "--output.path",
              ref).returncode == 0
    with open(ini, "w") as f:
        f.write(f"[experts]\nquality = {fixtures}/tiny_edm_b.pt\nlikelihood = {fixtures}/tiny_edm.pt\n"
                "[sweep]\nsigmas = 0, 0.5, 80\n[sampler]\nsteps = 6\n[samples]\ncount = 24\nbatch = 8\n"
                f"[nll]\ndataset = {data}\ncount = 6\nbatch = 3\nrtol = 1e-3\natol = 1e-3\nelbo_samples = 8\n"
                f"[fid]\nextractor = {fixtures}/tiny_features.pt\nreference = {ref}\nbatch = 16\n")
    out = os.path.join(SCRATCH, "real.h5")
    r = sd("sweep", "--config", ini, "--output.path", out)
    if r.returncode != 0:
        print(r.stdout[-3000:], r.stderr[-3000:])
    check(r.returncode == 0, "switchdiff sweep of the tiny experts")
    return out


def test_real_file(path):
    rc, out, err = run("sweep_table.py", path, "--csv", "-")
    rows = read_csv(out)
    with h5py.File(path, "r") as f:
        fid, bpd = f["sweep/fid"][()], f["sweep/nll_bpd"][()]
        metric = f["sweep"].attrs["fid_metric"]
        a, b = f["points/0/nll_bpd_per_image"][()], f["points/2/nll_bpd_per_image"][()]
    check(rc == 0 and len(rows) == 3 and all(float(rows[i]["fid"]) == fid[i] and float(rows[i]["nll_bpd"]) == bpd[i]
                                             for i in range(3)), "real file: CSV equals /sweep")
    expected = brute_force_pareto(fid, bpd, [True] * 3)
    check({int(r["point"]) for r in rows if r["pareto"] == "1"} == expected, f"real file: Pareto {sorted(expected)}")
    rc, md, _ = run("sweep_table.py", path)
    check(rc == 0 and f"| {metric} |" in md, f"real file: header '{metric}'")
    rc, out, _ = run("compare_points.py", path, 0, 2, "--json")
    s = json.loads(out)["nll_bpd"]
    se = np.std(a - b, ddof=1) / math.sqrt(len(a))
    check(rc == 0 and abs(s["mean_diff"] - (a - b).mean()) < 1e-12 and abs(s["se_paired"] - se) < 1e-12,
          f"real file: paired difference {s['mean_diff']:.6f} ± {s['se_paired']:.6f}")
    test_plots(path, "real")


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    test_table_and_pareto()
    test_compare_points()
    test_plots(os.path.join(SCRATCH, "synthetic_0.h5"), "synthetic")
    test_bad_input()
    test_real_file(real_sweep())
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
