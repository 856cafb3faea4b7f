"""`switchdiff sweep --dry-run` prints, as JSON and nothing else on stdout, the points and blocks the sweep would
compute, from the binary's own rules (src/cli/cmd_sweep.cpp): the bundled demo's five switch sigmas and 8 + 1
blocks, and `sweep.steps = all` as every grid index 0..N of the sampler (both pure experts included). Nothing is
loaded or written.

Usage: test_dry_run.py SWITCHDIFF_EXE"""
import json
import os
import subprocess
import sys
import tempfile


def dry_run(exe, *args):
    r = subprocess.run([exe, "sweep", "--dry-run", *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "s.h5")
        plan = dry_run(exe, "--output.path", out)
        sigmas = [p["switch_sigma"] for p in plan["points"]]
        assert sigmas == [0, 0.1, 0.5, 2, 80], sigmas
        assert not any(p["done"] for p in plan["points"])
        assert plan["samples"] == {"count": 512, "seed_base": 0, "batch": 64, "blocks": 8}, plan["samples"]
        assert plan["test_images"] == {"count": 16, "batch": 16, "blocks": 1}, plan["test_images"]
        assert not os.listdir(scratch), "a dry run writes nothing"

        plan = dry_run(exe, "--output.path", out, "--sweep.sigmas", "", "--sweep.steps", "all", "--sampler.steps",
                       "6", "--samples.count", "100", "--samples.batch", "30")
        steps = [p["switch_step"] for p in plan["points"]]
        assert steps == list(range(7)), steps
        assert plan["points"][0]["switch_sigma"] == 80 and plan["points"][-1]["switch_sigma"] == 0, plan["points"]
        assert plan["samples"]["blocks"] == 4, plan["samples"]
    print("dry run: points and blocks as the sweep computes them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
