#!/usr/bin/python3
"""Crash consistency (docs/formats.md#work-folders): a run killed at any file write, rename or unlink resumes to
exactly the result of an uninterrupted run, and no resume is refused.

For `sweep` (3 points, sample and test-image blocks), `sample` and `nll` on tiny experts: count the calls of each
kind in an uninterrupted run (strace), then for every k-th call N start a fresh run under
`strace -f -e inject=<calls>:signal=KILL:when=N` (SIGKILL on entering the N-th call, before it acts), resume it
without strace until exit 0, and compare the output with the uninterrupted run's, bitwise (every dataset, every
attribute but the run's time and command line). A resume that exits non-zero is a failure (nothing may block a
resume). Usage: test_kill_injection.py [--commands sweep,sample,nll] [--every K]. Exit 0 on success."""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults_common as fc  # noqa: E402

STRACE = "/usr/bin/strace"
KINDS = {
    "pwrite64": "pwrite64,write",
    "rename": "rename,renameat,renameat2",
    "unlink": "unlink,unlinkat",
}


def command_args(name, paths, out):
    if name == "sample":
        return ["sample", "--experts.quality", paths["tiny_edm_b"], "--experts.likelihood", paths["tiny_edm"],
                "--switch.sigma", "0.5", "--samples.count", "20", "--samples.batch", "4", "--sampler.steps", "4",
                "--run.threads", "1", "--output.path", out]
    if name == "nll":
        return ["nll", "--experts.quality", paths["tiny_edm_b"], "--experts.likelihood", paths["tiny_edm"],
                "--switch.sigma", "0.5", "--nll.dataset", paths["data"], "--nll.count", "6", "--nll.batch", "2",
                "--nll.rtol", "1e-2", "--nll.atol", "1e-2", "--nll.elbo_samples", "4", "--run.threads", "1",
                "--output.path", out]
    return ["sweep", "--experts.quality", paths["tiny_edm_b"], "--experts.likelihood", paths["tiny_edm"],
            "--sweep.sigmas", "0,0.5,80", "--sampler.steps", "4", "--samples.count", "12", "--samples.batch", "4",
            "--nll.dataset", paths["data"], "--nll.count", "4", "--nll.batch", "2", "--nll.rtol", "1e-2",
            "--nll.atol", "1e-2", "--nll.elbo_samples", "4", "--fid.extractor", paths["tiny_features"],
            "--fid.reference", paths["ref"], "--fid.batch", "4", "--sweep.keep_samples", "true",
            "--sweep.fid_jackknife_groups", "3", "--run.threads", "1", "--output.path", out]


def call_counts(args, scratch):
    """Calls of each kind per process/thread of an uninterrupted run (strace counts `when` per thread); the
    largest per thread, so every N up to it kills some thread that writes."""
    log = os.path.join(scratch, "strace.log")
    rc, out = fc.run(args, prefix=[STRACE, "-f", "-o", log, "-e", "trace=" + ",".join(KINDS.values())])
    assert rc == 0, out
    counts = collections.defaultdict(collections.Counter)
    with open(log) as f:
        for line in f:
            m = re.match(r"(\d+)\s+(\w+)\(", line)
            if not m:
                continue
            for kind, calls in KINDS.items():
                if m.group(2) in calls.split(","):
                    counts[kind][m.group(1)] += 1
    return {kind: max(c.values()) if c else 0 for kind, c in counts.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", default="sweep,sample,nll")
    parser.add_argument("--every", type=int, default=0, help="kill at every k-th call (0: about 12 points a kind)")
    options = parser.parse_args()
    if not os.access(STRACE, os.X_OK):
        print("SKIP: {} is not installed (tools/install_deps.sh installs it)".format(STRACE))
        return fc.SKIP
    failures, points = [], 0
    with tempfile.TemporaryDirectory() as scratch:
        paths = fc.make_inputs(scratch)
        for name in options.commands.split(","):
            reference = os.path.join(scratch, "reference_{}.h5".format(name))
            rc, out = fc.run(command_args(name, paths, reference))
            assert rc == 0, out
            out_path = os.path.join(scratch, "killed_{}.h5".format(name))
            counts = call_counts(command_args(name, paths, out_path), scratch)
            fc.remove_output(out_path)
            for kind, calls in KINDS.items():
                every = options.every or max(1, counts.get(kind, 0) // 12)
                for n in range(1, counts.get(kind, 0) + 1, every):
                    points += 1
                    where = "{} killed at {} call {}/{}".format(name, kind, n, counts[kind])
                    inject = "inject={}:signal=KILL:when={}".format(calls, n)
                    rc, out = fc.run(command_args(name, paths, out_path),
                                     prefix=[STRACE, "-f", "-o", "/dev/null", "-e", "trace=" + calls, "-e", inject])
                    killed = rc != 0
                    if killed:
                        rc, out = fc.run(command_args(name, paths, out_path))
                    if rc != 0:
                        failures.append("{}: resume exited {}:\n{}".format(where, rc, out[-2000:]))
                    elif not os.path.exists(out_path):
                        failures.append("{}: exit 0 without {}".format(where, out_path))
                    else:
                        diff = fc.differences(out_path, reference)
                        if diff:
                            failures.append("{}: differs from the uninterrupted run: {}".format(where, diff[:5]))
                        if name == "sweep":  # the kept samples too (the sweep keeps its work folder: docs/formats.md)
                            for k in range(3):
                                a = "{}.samples/point_{}.h5".format(out_path, k)
                                b = "{}.samples/point_{}.h5".format(reference, k)
                                if not os.path.exists(a) or fc.differences(a, b):
                                    failures.append("{}: samples of point {} missing or different".format(where, k))
                        leftovers = [p for p in (out_path + ".work", out_path + ".partial")
                                     if os.path.exists(p) and name != "sweep"]
                        if leftovers:
                            failures.append("{}: left {}".format(where, leftovers))
                    print("{}: {}".format(where, "killed, resumed" if killed else "not killed (fewer calls)"),
                          flush=True)
                    fc.remove_output(out_path)
    for f in failures:
        print("FAIL:", f)
    print("{} kill points, {} failures".format(points, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
