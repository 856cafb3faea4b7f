#!/usr/bin/python3
"""slurm/sweep_size.py (sizes a SLURM array) against switchdiff itself: for each config, K must equal the
number of rows `switchdiff sweep` writes to /sweep (run with one sample per point on a tiny expert).
Bad configs: both keys set, non-numbers -> exit 1; no sweep keys -> exit 3; each with a message.
Env: SWITCHDIFF_EXE, SWITCHDIFF_BINARY_DIR (CTest sets both)."""
import os
import shutil
import subprocess
import sys

import h5py

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SWITCHDIFF_BINARY_DIR", os.path.join(ROOT, "build"))
EXE = os.environ.get("SWITCHDIFF_EXE", os.path.join(BUILD, "src", "cli", "switchdiff"))
SIZE = os.path.join(ROOT, "slurm", "sweep_size.py")
SCRATCH = os.path.join(BUILD, "test_scratch", "slurm_sweep_size")

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def sweep_size(args):
    r = subprocess.run([sys.executable, SIZE] + args, capture_output=True, text=True)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def switchdiff_rows(args, name):
    out = os.path.join(SCRATCH, name + ".h5")
    r = subprocess.run([EXE, "sweep"] + args + ["--samples.count", "1", "--run.threads", "1", "--output.path", out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
        return None
    with h5py.File(out, "r") as f:
        return len(f["/sweep/switch_sigma"])


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    fixtures = os.path.join(SCRATCH, "fx")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "fixtures", "make_tiny_experts.py"), "--out", fixtures],
                   check=True, capture_output=True)
    ini = os.path.join(SCRATCH, "sweep.ini")
    with open(ini, "w") as f:
        f.write(f"; a comment line\n[experts]\nquality = {fixtures}/tiny_edm.pt  ; inline comment\n"
                "# another comment\n[sweep]\nsigmas = 0, 0.06, 0.3, 1.0, 80 ; five points\n"
                "[sampler]\nsteps = 4\n")
    cases = [
        ("config sigmas with comments", ["--config", ini]),
        ("command line replaces the config's sigmas", ["--config", ini, "--sweep.sigmas", "0.5, 2"]),
        ("steps = all: every grid index 0..N", ["--config", ini, "--sweep.sigmas", "", "--sweep.steps", "all"]),
        ("steps = all with sampler.steps from the command line",
         ["--config", ini, "--sweep.sigmas", "", "--sweep.steps=all", "--sampler.steps", "3"]),
        ("steps = list", ["--config", ini, "--sweep.sigmas", "", "--sweep.steps", "0, 2,4"]),
        ("no config file", ["--experts.quality", f"{fixtures}/tiny_edm.pt", "--sweep.steps", "all"]),
    ]
    for i, (what, args) in enumerate(cases):
        rc, k, err = sweep_size(args)
        rows = switchdiff_rows(args, f"case{i}")
        check(rc == 0 and rows is not None and k == str(rows), f"{what}: sweep_size {k!r} (rc {rc} {err}), "
              f"switchdiff wrote {rows} rows")

    rc, _, err = sweep_size(["--config", ini, "--sweep.steps", "all"])
    check(rc == 1 and "both set" in err, f"sigmas and steps both set -> exit 1 ({rc}: {err})")
    rc, _, err = sweep_size(["--config", ini, "--sweep.sigmas", "0, x"])
    check(rc == 1 and "'x' is not a number" in err, f"non-number -> exit 1 ({rc}: {err})")
    rc, _, err = sweep_size(["--experts.quality", "q.pt"])
    check(rc == 3 and "no sweep points" in err, f"no sweep keys -> exit 3 ({rc}: {err})")
    rc, _, err = sweep_size(["--config", os.path.join(SCRATCH, "missing.ini")])
    check(rc == 1 and "missing.ini" in err, f"missing config -> exit 1 ({rc}: {err})")
    rc, _, err = sweep_size(["--config"])
    check(rc == 1 and "needs a value" in err, f"flag without value -> exit 1 ({rc}: {err})")

    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
