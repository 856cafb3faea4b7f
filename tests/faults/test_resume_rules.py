#!/usr/bin/python3
"""What a resume of `sample`/`nll` allows (docs/determinism.md, docs/formats.md#work-folders), with real processes:
1. a run killed part-way and resumed with another `--samples.batch` (or `--nll.batch`) is refused with exit 1 and a
   message listing the stored and current batch; resumed with the same batch it gives the uninterrupted result;
2. a damaged block record (truncated, or a valid HDF5 file whose data no longer match their checksum) is moved aside
   (`.damaged`) with a warning and recomputed, never blocking the run; for `sample`, `nll` and `sweep` records alike;
3. a second run on the same output is refused with a note that another run holds it, never advised to switch
   HDF5's file locking off;
4. `stats` with two fid.batch sizes: the sums are bitwise equal (fixed reduction blocks, docs/determinism.md);
5. a SIGTERM at any moment of start-up, while the libraries load, is a clean stop (exit 3), never a kill (143):
   the launcher blocks the stop signals before the engine loads (src/cli/launcher.cpp).
Exit 0 on success."""
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults_common as fc  # noqa: E402


def kill_at_rename(args, n):
    """Runs switchdiff killed on entering its n-th rename (the n-th committed file): deterministic progress."""
    return fc.run(args, prefix=["/usr/bin/strace", "-f", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2",
                                "-e", "inject=rename,renameat,renameat2:signal=KILL:when={}".format(n)])


def documented_hash(record):
    """data_sha256 as docs/formats.md#work-folders defines it, computed independently with hashlib."""
    digest = hashlib.sha256()
    with h5py.File(record, "r") as f:
        names = []
        f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        for name in sorted("/" + n for n in names):
            values = f[name][()]
            digest.update("{}|{}|{}\n".format(name, values.dtype.name, ",".join(map(str, values.shape))).encode())
            digest.update(np.ascontiguousarray(values).astype(values.dtype.newbyteorder("<")).tobytes())
        return digest.hexdigest() == f.attrs["data_sha256"]


def flip_first_value(record, dataset):
    """Changes the first value of a record's dataset in place, leaving the file a valid, 'complete' record."""
    with h5py.File(record, "r+") as f:
        values = f[dataset][()]
        flat = values.reshape(-1)
        flat[0] = flat[0] + 1 if values.dtype.kind == "f" else flat[0] ^ 1
        f[dataset][...] = values


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
            rc, out = kill_at_rename(args + [key, "2", "--output.path", target], 4)  # identity.txt, 2 records
            check(rc != 0 and os.path.isdir(target + ".work"), name + ": killed part-way, work folder kept", out)
            rc, out = fc.run(args + [key, "3", "--output.path", target])
            check(rc == 1 and "batch = 2" in out and "batch = 3" in out and "stored" in out,
                  name + ": resume with another batch refused (exit 1) listing stored and current batch", out)
            # A damaged record (truncated by a crash of the disk, not of switchdiff) is set aside and recomputed.
            record = os.path.join(target + ".work", "blocks", "b0.h5")
            check(documented_hash(record), name + ": a record's data_sha256 is the documented hash of its datasets")
            with open(record, "r+b") as f:
                f.truncate(100)
            # One that is whole but whose data changed after it was written (a flipped bit on disk).
            flip_first_value(os.path.join(target + ".work", "blocks", "b1.h5"), "payload")
            rc, out = fc.run(args + [key, "2", "--output.path", target])
            check(rc == 0 and "damaged" in out and "do not match their checksum" in out,
                  name + ": resumed with the same batch over a damaged record (warned, recomputed, exit 0)", out)
            diff = fc.differences(target, reference) if os.path.exists(target) else ["missing"]
            check(not diff, name + ": resumed output equals the uninterrupted run, bitwise", str(diff[:5]))

        # The sweep's records follow the same rule (pipeline/block_record.h).
        sweep = ["sweep", "--experts.quality", paths["tiny_edm_b"], "--experts.likelihood", paths["tiny_edm"],
                 "--sweep.sigmas", "0,0.5,80", "--sampler.steps", "4", "--samples.count", "12", "--samples.batch", "4",
                 "--nll.dataset", paths["data"], "--nll.count", "4", "--nll.batch", "2", "--nll.rtol", "1e-2",
                 "--nll.atol", "1e-2", "--fid.extractor", paths["tiny_features"], "--fid.reference", paths["ref"],
                 "--fid.batch", "4", "--sweep.fid_jackknife_groups", "3", "--run.threads", "1"]
        reference = os.path.join(scratch, "sweep_reference.h5")
        rc, out = fc.run(sweep + ["--output.path", reference])
        check(rc == 0, "sweep: uninterrupted run", out)
        target = os.path.join(scratch, "sweep.h5")
        rc, out = kill_at_rename(sweep + ["--output.path", target], 7)
        blocks = os.path.join(target + ".work", "blocks")
        records = sorted(n for n in os.listdir(blocks) if n.endswith(".h5")) if os.path.isdir(blocks) else []
        check(rc != 0 and "s0.h5" in records and "s1.h5" in records,
              "sweep: killed part-way with sample records s0, s1 kept ({})".format(records), out)
        if "s1.h5" in records:
            check(documented_hash(os.path.join(blocks, "s0.h5")),
                  "sweep: a record's data_sha256 is the documented hash of its datasets (nested groups)")
            flip_first_value(os.path.join(blocks, "s0.h5"), "p1/features")
            with open(os.path.join(blocks, "s1.h5"), "r+b") as f:
                f.truncate(100)
            rc, out = fc.run(sweep + ["--output.path", target])
            check(rc == 0 and "s0.h5 is damaged (its data do not match their checksum)" in out and
                  "s1.h5 is damaged" in out,
                  "sweep: resumed over a changed and a truncated record (moved aside, recomputed, exit 0)", out)
            diff = fc.differences(target, reference) if os.path.exists(target) else ["missing"]
            check(not diff, "sweep: resumed results equal the uninterrupted run, bitwise", str(diff[:5]))

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

        # A stop signal during start-up: pending until the engine's handlers are in place, then a clean stop.
        for delay in (0.005, 0.05, 0.2, 0.5, 1.0):
            early = ["sample", "--experts.quality", paths["tiny_edm"], "--samples.count", "4000", "--samples.batch",
                     "50", "--sampler.steps", "8", "--run.threads", "1", "--output.path",
                     os.path.join(scratch, "early_{}.h5".format(delay))]
            process = subprocess.Popen([fc.EXE] + early, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            time.sleep(delay)
            process.send_signal(signal.SIGTERM)
            early_out = process.communicate()[0]
            check(process.returncode == 3 and "stopped by a signal" in early_out,
                  "SIGTERM {} s after the start: exit 3 (got {})".format(delay, process.returncode), early_out)

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
    for f in failures:
        print("FAIL:", f)
    print("{} failures".format(len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
