#!/usr/bin/python3
"""analysis/report.py on a real `switchdiff sweep` of the tiny experts (5 switch points, ~5 s) and on copies of
it edited with h5py (a partial sweep, other seeds, other experts, no finished point).

  --part core     figures (PNG, expected pixel sizes), paired differences against an independent numpy
                  computation, Markdown content, several files, bad inputs (exit 1 with a message)
  --part browser  the HTML in a real browser: chromium --headless --dump-dom holds the table rows and the
                  embedded figures; --screenshot is a non-blank PNG. Chromium is installed by
                  tools/install_deps.sh: without it this part FAILS, unless SWITCHDIFF_NO_BROWSER says why
                  the install step cannot run here; then it exits 77, which CTest reports as skipped.
Env: SWITCHDIFF_EXE, SWITCHDIFF_BINARY_DIR (CTest sets both)."""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SWITCHDIFF_BINARY_DIR", os.path.join(ROOT, "build"))
EXE = os.environ.get("SWITCHDIFF_EXE", os.path.join(BUILD, "src", "cli", "switchdiff"))
SIGMAS = (0, 0.1, 0.5, 2, 80)
GROUPS = 8
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def report(*args):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "analysis", "report.py")] + [str(a) for a in args],
                       capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def real_sweep(scratch):
    fixtures = os.path.join(scratch, "fx")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "fixtures", "make_tiny_experts.py"), "--out", fixtures],
                   check=True, capture_output=True)
    sd = lambda *a: subprocess.run([EXE] + list(a) + ["--run.threads", "1"], capture_output=True, text=True)  # noqa
    data, ref, ini = (os.path.join(scratch, n) for n in ("data.h5", "ref.h5", "sweep.ini"))
    for args in (("sample", "--experts.quality", f"{fixtures}/tiny_edm.pt", "--samples.count", "40",
                  "--samples.seed_base", "1000", "--output.path", data),
                 ("stats", "--fid.extractor", f"{fixtures}/tiny_features.pt", "--dataset", data, "--output.path", ref)):
        r = sd(*args)
        if r.returncode != 0:
            sys.exit(f"switchdiff {args[0]} failed: {r.stderr[-2000:]}")
    with open(ini, "w") as f:
        f.write(f"[experts]\nquality = {fixtures}/tiny_edm_b.pt\nlikelihood = {fixtures}/tiny_edm.pt\n"
                f"[sweep]\nsigmas = {', '.join(map(str, SIGMAS))}\nfid_jackknife_groups = {GROUPS}\n"
                "[sampler]\nsteps = 6\n[samples]\ncount = 32\nbatch = 8\n"
                f"[nll]\ndataset = {data}\ncount = 6\nbatch = 3\nrtol = 1e-3\natol = 1e-3\nelbo_samples = 8\n"
                f"[fid]\nextractor = {fixtures}/tiny_features.pt\nreference = {ref}\nbatch = 16\n")
    out = os.path.join(scratch, "sweep.h5")
    r = sd("sweep", "--config", ini, "--output.path", out)
    if r.returncode != 0:
        sys.exit(f"switchdiff sweep failed: {r.stdout[-2000:]} {r.stderr[-2000:]}")
    return out


def png_size(path):
    """(width, height) from the PNG header, or None if the file is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def expected_grid_size(rows, columns, h, w):
    """The sample grid: 9 in wide at 120 dpi; the mosaic (1 px border per 14 px) spans 84% of the width and
    keeps its aspect; 1 in of margin above and below in all."""
    pad = max(1, h // 14)
    tile_h, tile_w = rows * (h + pad) + pad, columns * (w + pad) + pad
    return 1080, round((9 * 0.84 * tile_h / tile_w + 1.0) * 120)


def independent_differences(path):
    """{(point, reference): {"bpd": (diff, se), "fid": (diff, se)}} straight from the file with numpy."""
    with h5py.File(path, "r") as f:
        eta = f["sweep/switch_sigma"][()]
        done = f["sweep/status"][()] == 2
        fid = f["sweep/fid"][()]
        bpd = {k: f[f"points/{k}/nll_bpd_per_image"][()] for k in range(len(eta)) if done[k]}
        loo = {k: f[f"points/{k}/fid_leave_one_out"][()] for k in range(len(eta)) if done[k]}
    ks = [k for k in range(len(eta)) if done[k]]
    refs = {"quality": min(ks, key=lambda k: eta[k]), "likelihood": max(ks, key=lambda k: eta[k])}
    out = {}
    for k in ks:
        for name, ref in refs.items():
            if k == ref:
                continue
            d = bpd[k] - bpd[ref]
            g = loo[k] - loo[ref]
            out[(k, name)] = {"nll_bpd": (d.mean(), d.std(ddof=1) / np.sqrt(len(d))),
                              "fid": (fid[k] - fid[ref], np.sqrt((len(g) - 1) / len(g) * ((g - g.mean()) ** 2).sum()))}
    return out, refs


def edited_copy(src, dst, edit):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        edit(f)
    return dst


def make_winner(f):
    """Point 2's per-image bits/dim 0.5 below the better expert's, image by image, with a little noise."""
    q, lk = f["points/0/nll_bpd_per_image"][()], f["points/4/nll_bpd_per_image"][()]
    noise = np.random.default_rng(3).normal(0, 0.01, len(q))
    f["points/2/nll_bpd_per_image"][...] = np.minimum(q, lk) - 0.5 + noise


def test_figures_and_numbers(path, scratch):
    out = os.path.join(scratch, "report")
    rc, stdout, err = report(path, "--out", out)
    check(rc == 0 and stdout.strip() == os.path.join(out, "report.html"),
          f"report written, path printed ({rc}: {err[-300:]})")
    sizes = {"fid_vs_eta.png": (900, 540), "bpd_vs_eta.png": (900, 540), "paired_vs_eta.png": (1320, 540),
             "plane.png": (900, 720), "samples.png": expected_grid_size(len(SIGMAS), 16, 8, 8)}
    for name, want in sizes.items():
        p = os.path.join(out, name)
        got = png_size(p) if os.path.exists(p) else None
        size = os.path.getsize(p) if os.path.exists(p) else 0
        check(got == want and size > 10000, f"{name}: PNG {got} == {want}, {size} bytes")
    md = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    for name in sizes:
        check(f"]({name})" in md, f"report.md shows {name}")
    html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    check(html.count('src="data:image/png;base64,') == len(sizes) and not re.search(r'src="(?!data:)', html),
          "report.html embeds every figure as a data URI and refers to no other file")

    expected, refs = independent_differences(path)
    got = json.load(open(os.path.join(out, "report.json")))[0]
    check(got["experts"]["quality"] == refs["quality"] and got["experts"]["likelihood"] == refs["likelihood"],
          f"pure experts: quality point {refs['quality']}, likelihood point {refs['likelihood']}")
    worst = 0.0
    for (k, ref), metrics in expected.items():
        for m, (diff, se) in metrics.items():
            g = got["diffs"][str(k)][ref][m]
            worst = max(worst, abs(g["diff"] - diff), abs(g["se"] - se))
    check(len(expected) == 2 * (len(SIGMAS) - 1) and worst < 1e-12,
          f"paired differences (bits/dim per image, FID jackknife) equal numpy's: max error {worst:.2e}")
    for k in range(1, len(SIGMAS) - 1):  # the rule, from the independent numbers
        for m in ("fid", "nll_bpd"):
            want = all(expected[(k, ref)][m][0] < -2 * expected[(k, ref)][m][1] for ref in ("quality", "likelihood"))
            check(got["beats_both"][str(k)][m] == want, f"point {k} beats both on {m}: {want}")
    diff, se = expected[(2, "quality")]["nll_bpd"]
    winner = edited_copy(path, os.path.join(scratch, "winner.h5"), make_winner)
    rc, _, err = report(winner, "--out", os.path.join(scratch, "winner"))
    got_w = json.load(open(os.path.join(scratch, "winner", "report.json")))[0] if rc == 0 else {}
    md_w = open(os.path.join(scratch, "winner", "report.md"), encoding="utf-8").read() if rc == 0 else ""
    check(rc == 0 and got_w["beats_both"]["2"]["nll_bpd"] is True and got_w["beats_both"]["1"]["nll_bpd"] is False
          and "the strongest is point 2 (η=0.5)" in md_w and "| **yes** |" in md_w,
          f"a point made better than both experts on bits/dim is marked the winner ({rc}: {err[-200:]})")
    check(f"{diff:+.4f} ± {se:.4f} ({diff / se:+.1f} SE)" in md, f"report.md shows point 2 - quality expert on "
          f"bits/dim as {diff:+.4f} ± {se:.4f}")
    with h5py.File(path, "r") as f:
        sha = f["experts/quality"].attrs["sha256"]
        commit = f.attrs["git_commit"]
    check(sha in md and str(commit) in md and "[sampler]" in md and "world_size" in md, "run facts: SHA-256, commit, "
          "config, world size")
    return out


def test_partial_and_several(path, scratch):
    partial = edited_copy(path, os.path.join(scratch, "partial.h5"),
                          lambda f: f["sweep/status"].write_direct(np.array([1], np.int64), np.s_[0:1], np.s_[3:4]))
    rc, _, err = report(partial, "--out", os.path.join(scratch, "partial"))
    md = open(os.path.join(scratch, "partial", "report.md"), encoding="utf-8").read() if rc == 0 else ""
    check(rc == 0 and "1 of 5 points are not finished" in md and "point 3 (η=2, partial)" in md,
          f"partial sweep: the missing point is named ({rc}: {err[-200:]})")

    def no_quality_expert(f):  # point 0 (eta = 0) unfinished; a newer column of performed evaluations
        f["sweep/status"][0] = 1
        f["sweep/sample_nfe_performed"] = np.full(len(SIGMAS), 11.0 * 32)

    partial = edited_copy(path, os.path.join(scratch, "no_quality.h5"), no_quality_expert)
    rc, _, err = report(partial, "--out", os.path.join(scratch, "no_quality"))
    md = open(os.path.join(scratch, "no_quality", "report.md"), encoding="utf-8").read() if rc == 0 else ""
    check(rc == 0 and "quality expert: **no finished point with η = 0" in md and "**FID: undecided**" in md,
          f"without the quality-expert point the verdict is undecided ({rc}: {err[-200:]})")
    check("| sample_nfe_performed |" in md and "| 352 |" in md, "run facts show a newer /sweep column")
    twin = edited_copy(path, os.path.join(scratch, "twin.h5"), lambda f: None)
    rc, _, err = report(path, twin, "--out", os.path.join(scratch, "overlay"))
    md = open(os.path.join(scratch, "overlay", "report.md"), encoding="utf-8").read() if rc == 0 else ""
    check(rc == 0 and "overlaid in the figures" in md and "](fid_vs_eta.png)" in md, f"same experts and seeds: "
          f"overlaid ({rc}: {err[-200:]})")

    def other_seed(f):
        f.attrs["seed_base"] = 5

    seeds = edited_copy(path, os.path.join(scratch, "seeds.h5"), other_seed)
    rc, _, err = report(path, seeds, "--out", os.path.join(scratch, "seeds"))
    md = open(os.path.join(scratch, "seeds", "report.md"), encoding="utf-8").read() if rc == 0 else ""
    check(rc == 0 and "shown side by side" in md and "](fid_vs_eta_set2.png)" in md,
          f"same experts, other seeds: side by side ({rc}: {err[-200:]})")


def test_bad_input(path, scratch):
    def other_expert(f):
        f["experts/likelihood"].attrs["sha256"] = "0" * 64

    def nothing_done(f):
        f["sweep/status"][...] = 0

    def no_sweep(f):
        del f["sweep"]

    other = edited_copy(path, os.path.join(scratch, "other_experts.h5"), other_expert)
    text = os.path.join(scratch, "text.h5")
    with open(text, "w") as f:
        f.write("not hdf5\n")
    cases = (((os.path.join(scratch, "missing.h5"),), "no such file"),
             ((text,), "not an HDF5 file"),
             ((edited_copy(path, os.path.join(scratch, "no_sweep.h5"), no_sweep),), "has no /sweep group"),
             ((edited_copy(path, os.path.join(scratch, "pending.h5"), nothing_done),), "no sweep point is finished"),
             ((path, other), "different experts"))
    for files, message in cases:
        rc, _, err = report(*files, "--out", os.path.join(scratch, "bad"))
        check(rc == 1 and message in err and "Traceback" not in err, f"{os.path.basename(files[-1])}: exit 1 with "
              f"'{message}' ({rc}: {err.strip()[:160]})")
    rc, _, err = report(path, other, "--side-by-side", "--out", os.path.join(scratch, "sbs"))
    md = open(os.path.join(scratch, "sbs", "report.md"), encoding="utf-8").read() if rc == 0 else ""
    check(rc == 0 and "different pairs of experts" in md, f"--side-by-side accepts other experts ({rc}: {err[-200:]})")


def chromium(*args):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    profile = os.path.join(SCRATCH_ROOT, "chromium-profile")
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           f"--user-data-dir={profile}", "--hide-scrollbars"] + list(args),
                          capture_output=True, text=True, timeout=120)


def test_browser(path, scratch):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        reason = os.environ.get("SWITCHDIFF_NO_BROWSER")
        if reason:
            print(f"SKIP: chromium is not installed and SWITCHDIFF_NO_BROWSER says why: {reason}")
            sys.exit(77)
        check(False, "chromium is installed (tools/install_deps.sh installs it; set SWITCHDIFF_NO_BROWSER=<reason> "
                     "only where that install step cannot run)")
        return
    out = os.path.join(scratch, "report")
    rc, _, err = report(path, "--out", out)
    check(rc == 0, f"report written ({err[-200:]})")
    url = "file://" + os.path.abspath(os.path.join(out, "report.html"))
    r = chromium("--dump-dom", url)
    dom = r.stdout
    check(r.returncode == 0 and "<h1>Switch-point sweep report</h1>" in dom, f"chromium --dump-dom ({len(dom)} "
          f"characters, rc {r.returncode})")
    with h5py.File(path, "r") as f:
        eta, fid = f["sweep/switch_sigma"][()], f["sweep/fid"][()]
    for k, e in enumerate(eta):
        row = f"<tr><td>{k}</td><td>{e:.4g}</td><td>-</td><td>{fid[k]:.3f} ± "  # sweep_table.py's row
        check(row in dom, f"DOM holds the sweep-table row of point {k}: {row}")
    check(dom.count('<img src="data:image/png;base64,') == 5, "DOM holds the 5 embedded figures")
    shot = os.path.join(scratch, "screenshot.png")
    r = chromium("--window-size=1280,2400", f"--screenshot={shot}", url)
    size = png_size(shot) if os.path.exists(shot) else None
    check(r.returncode == 0 and size == (1280, 2400), f"chromium --screenshot: {size}")
    if size:
        import matplotlib.image
        pixels = matplotlib.image.imread(shot)[..., :3]
        check(pixels.std() > 0.05 and (pixels < 0.5).mean() > 0.01, f"screenshot is not blank (std {pixels.std():.3f})")


SCRATCH_ROOT = os.path.join(BUILD, "test_scratch", "report")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("core", "browser"), required=True)
    args = parser.parse_args()
    scratch = os.path.join(SCRATCH_ROOT, args.part)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    path = real_sweep(scratch)
    if args.part == "core":
        test_figures_and_numbers(path, scratch)
        test_partial_and_several(path, scratch)
        test_bad_input(path, scratch)
    else:
        test_browser(path, scratch)
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
