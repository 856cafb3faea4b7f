#!/usr/bin/python3
"""Progress output of a long `switchdiff` job, in both modes (core/log.h):
- stdout a pipe (a SLURM log, CI): a line at most every run.progress_seconds and one summary line, never the same
  line twice;
- stdout a terminal (a pseudo-terminal from Python's pty): one line updated in place with carriage returns, and a
  single summary line.
Counts the lines. Exit 0 on success."""
import os
import pty
import subprocess
import sys
import tempfile

ROOT = os.environ.get("SWITCHDIFF_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
EXE = os.environ["SWITCHDIFF_EXE"]


def fixtures(scratch):
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "fixtures", "make_tiny_experts.py"), "--out", scratch],
                   check=True, capture_output=True)
    return os.path.join(scratch, "tiny_edm.pt")


def sample_command(expert, out, extra):
    # 400 samples one at a time: a few seconds of work in many small steps.
    return [EXE, "sample", "--experts.quality", expert, "--samples.count", "400", "--samples.batch", "1",
            "--sampler.steps", "6", "--run.threads", "1", "--output.path", out] + extra


def progress_lines(text):
    return [line for line in text.replace("\r", "\n").split("\n") if line.startswith("sample:")]


def main():
    failures = []
    with tempfile.TemporaryDirectory() as scratch:
        expert = fixtures(scratch)
        # Log file mode, default interval (30 s): a short job prints its summary line only.
        piped = subprocess.run(sample_command(expert, os.path.join(scratch, "a.h5"), []), capture_output=True,
                               text=True)
        lines = progress_lines(piped.stdout)
        print("pipe, default interval:", lines)
        if piped.returncode != 0 or len(lines) != 1 or "done" not in lines[0]:
            failures.append(f"pipe mode: expected one summary line, got {lines} (exit {piped.returncode})")
        # Log file mode, 0.2 s interval: periodic lines, all different, one summary.
        piped = subprocess.run(sample_command(expert, os.path.join(scratch, "b.h5"), ["--run.progress_seconds", "0.2"]),
                               capture_output=True, text=True)
        lines = progress_lines(piped.stdout)
        print(f"pipe, 0.2 s interval: {len(lines)} lines; last: {lines[-1] if lines else None}")
        if len(lines) < 2 or len(set(lines)) != len(lines) or sum("done" in l for l in lines) != 1:
            failures.append(f"pipe mode with interval 0.2 s: expected periodic distinct lines and one summary: {lines}")
        # Terminal mode: updates in place (\r), and exactly one line ends with a newline.
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(EXE, sample_command(expert, os.path.join(scratch, "c.h5"), []))
        output = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        _, status = os.waitpid(pid, 0)
        text = output.decode(errors="replace")
        newline_lines = [l for l in text.replace("\r\n", "\n").split("\n") if "sample:" in l]
        updates = text.count("\rsample:")
        print(f"terminal: {updates} in-place updates, {len(newline_lines)} finished line(s)")
        if os.waitstatus_to_exitcode(status) != 0:
            failures.append("terminal mode: the run failed:\n" + text[-2000:])
        if updates < 2 or len(newline_lines) != 1 or "done" not in newline_lines[0].split("\r")[-1]:
            failures.append(f"terminal mode: expected in-place updates and one summary line; got {updates} updates, "
                            f"lines {newline_lines!r}")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
