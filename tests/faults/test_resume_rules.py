#!/usr/bin/python3
"""What a resume of `sample`/`nll` allows (docs/determinism.md, docs/formats.md#work-folders), with real processes:
1. a run killed part-way and resumed with another `--samples.batch` (or `--nll.batch`) is refused with exit 1 and a
   message listing the stored and current batch; resumed with the same batch it gives the uninterrupted result;
2. a damaged block record is moved aside (`.damaged`) with a warning and recomputed, never blocking the run;
3. a second run on the same output is refused with a note that another run holds it, never advised to switch
   HDF5's file locking off;
4. `stats` with two fid.batch sizes: the sums are bitwise equal (fixed reduction blocks, docs/determinism.md).
Exit 0 on success."""
import os
import subprocess
import sys
import tempfile
import time

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults_common as fc  # noqa: E402


def kill_at_rename(args, n):
    """Runs switchdiff killed on entering its n-th rename (the n-th committed file): deterministic progress."""
    return fc.run(args, prefix=["/usr/bin/strace", "-f", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2",
                                "-e", "inject=rename,renameat,renameat2:signal=KILL:when={}".format(n)])


def main():
    failures = []

    def check(condition, what, output=""):
        print(("ok: " if condition else "FAIL: ") + what, flush=True)
        if not condition:
            failures.append(what + ("\n" + output[-1500:] if output else ""))

    with tempfile.TemporaryDirectory() as scratch:
        paths = fc.make_inputs(scratch)
        sample = ["sample", "--experts.quality", paths["tiny_edm"], "--samples.count", "24", "--sampler.steps", "4",
                  "--run.threads", "1"]
        nll = ["nll", "--experts.quality", paths["tiny_edm"], "--nll.dataset", paths["data"], "--nll.count", "6",
               "--nll.rtol", "1e-2", "--nll.atol", "1e-2", "--run.threads", "1"]
        for name, args, key in (("sample", sample, "--samples.batch"), ("nll", nll, "--nll.batch")):
            reference = os.path.join(scratch, name + "_reference.h5")
            rc, out = fc.run(args + [key, "2", "--output.path", reference])
            check(rc == 0, name + ": uninterrupted run", out)
            target = os.path.join(scratch, name + ".h5")
            rc, out = kill_at_rename(args + [key, "2", "--output.path", target], 3)  # identity.txt, 2 records
            check(rc != 0 and os.path.isdir(target + ".work"), name + ": killed part-way, work folder kept", out)
            rc, out = fc.run(args + [key, "3", "--output.path", target])
            check(rc == 1 and "batch = 2" in out and "batch = 3" in out and "stored" in out,
                  name + ": resume with another batch refused (exit 1) listing stored and current batch", out)
            # A damaged record (truncated by a crash of the disk, not of switchdiff) is set aside and recomputed.
            record = os.path.join(target + ".work", "blocks", "b0.h5")
            with open(record, "r+b") as f:
                f.truncate(100)
            rc, out = fc.run(args + [key, "2", "--output.path", target])
            check(rc == 0 and "damaged" in out,
                  name + ": resumed with the same batch over a damaged record (warned, recomputed, exit 0)", out)
            diff = fc.differences(target, reference) if os.path.exists(target) else ["missing"]
            check(not diff, name + ": resumed output equals the uninterrupted run, bitwise", str(diff[:5]))

        # Two runs on one output: the second is refused while the first holds the work folder.
        slow = ["sample", "--experts.quality", paths["tiny_edm"], "--samples.count", "4000", "--samples.batch", "50",
                "--sampler.steps", "8", "--run.threads", "1", "--output.path", os.path.join(scratch, "two.h5")]
        first = subprocess.Popen([fc.EXE] + slow, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(400):
            if os.path.exists(os.path.join(scratch, "two.h5.work", "identity.txt")):
                break
            time.sleep(0.05)
        rc, out = fc.run(slow)
        check(rc == 1 and "another switchdiff run" in out and "HDF5_USE_FILE_LOCKING" not in out,
              "a second run on the same output is refused, naming the other run", out)
        first.terminate()
        first_out = first.communicate()[0]
        check(first.returncode == 3, "the first run stops with exit 3 on SIGTERM", first_out)
        check("HDF5_USE_FILE_LOCKING" not in first_out, "no message advises HDF5_USE_FILE_LOCKING")

        # stats: sums do not depend on fid.batch.
        sums = []
        for batch in (32, 7):
            out_path = os.path.join(scratch, "stats_{}.h5".format(batch))
            rc, out = fc.run(["stats", "--fid.extractor", paths["tiny_features"], "--dataset", paths["data"],
                              "--fid.batch", str(batch), "--output.path", out_path])
            check(rc == 0, "stats with fid.batch {}".format(batch), out)
            with h5py.File(out_path, "r") as f:
                sums.append({k: f[k][()].tobytes() for k in ("sum", "sum_outer", "mu", "sigma")})
        for k in sums[0]:
            check(sums[0][k] == sums[1][k], "stats /{}: fid.batch 32 and 7 bitwise equal".format(k))
    print("{} failures".format(len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
