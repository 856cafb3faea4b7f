#!/usr/bin/python3
"""A full disk (docs/formats.md#work-folders): `sample` into a small tmpfs stops with exit 2 and a message that
names the file and "No space left on device" (never a signal, never a crash at exit); after the space is freed
(the tmpfs remounted bigger) the same command resumes, exits 0, and its output equals an uninterrupted run's,
bitwise. Needs root and permission to mount (a container may forbid it): otherwise exit 77 (skipped)."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults_common as fc  # noqa: E402


def sample_args(paths, out):
    # 3000 samples of 1x8x8 in blocks of 100: ~190 KiB of images in the records plus as much in the final file.
    return ["sample", "--experts.quality", paths["tiny_edm"], "--samples.count", "3000", "--samples.batch", "100",
            "--sampler.steps", "2", "--run.threads", "1", "--output.path", out]


def main():
    if os.geteuid() != 0:
        print("SKIP: mounting a tmpfs needs root")
        return fc.SKIP
    with tempfile.TemporaryDirectory() as scratch:
        disk = os.path.join(scratch, "disk")
        os.makedirs(disk)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", disk], capture_output=True,
                                 text=True)
        if mounted.returncode != 0:
            print("SKIP: cannot mount a tmpfs here: " + mounted.stderr.strip())
            return fc.SKIP
        failures = []
        try:
            paths = fc.make_inputs(scratch)
            reference = os.path.join(scratch, "reference.h5")
            rc, out = fc.run(sample_args(paths, reference))
            assert rc == 0, out
            target = os.path.join(disk, "full.h5")
            rc, out = fc.run(sample_args(paths, target))
            print("full disk: exit {}\n{}".format(rc, out[-1500:]))
            if rc != 2:
                failures.append("exit {} on a full disk, expected 2 (a negative code is a signal)".format(rc))
            if "No space left on device" not in out:
                failures.append("the message does not say 'No space left on device'")
            if disk not in out:
                failures.append("the message does not name the file")
            subprocess.run(["mount", "-o", "remount,size=16m", disk], check=True)
            rc, out = fc.run(sample_args(paths, target))
            print("after freeing space: exit {}\n{}".format(rc, out[-800:]))
            if rc != 0:
                failures.append("the run after freeing space exited {}".format(rc))
            elif fc.differences(target, reference):
                failures.append("output differs from an uninterrupted run: {}".format(fc.differences(target,
                                                                                                    reference)[:5]))
        finally:
            subprocess.run(["umount", disk])
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
