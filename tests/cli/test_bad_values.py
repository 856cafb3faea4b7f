"""Every configuration key refuses bad values before any work: exit 1 and a message that names the key.

The keys and their rules come from `switchdiff <command> --help` (src/cli/config_keys.cpp), so a key added
later is swept too. For each integer key: negative (where the minimum is >= 0), fractional, non-numeric and
int64-overflowing values; for each number key: NaN, infinity (unless allowed), non-numeric; for each
enumerated key: an unknown value, and the message must list the allowed ones. Also `--config` naming a folder.
Each run must end within seconds: validation happens before experts or data are opened.

Usage: test_bad_values.py SWITCHDIFF_EXE"""
import re
import subprocess
import sys
import tempfile

# Commands in the order keys are first seen; every key is tried on the first command that declares it.
COMMANDS = ["sweep", "sample", "nll", "stats", "fid"]
REQUIRED = {"stats": ["--dataset", "x.h5"], "fid": ["--samples", "x.h5"]}
ENUMERATED = {
    "sampler.solver": "heun | euler",
    "nll.divergence": "hutchinson | exact",
    "nll.probe": "rademacher | gaussian",
    "nll.dequantization": "grid | score_sde",
    "run.backend": "auto | serial | mpi | nccl",
    "run.device": "auto | cpu | cuda",
    "experts.quality.parameterization": "edm | vdm",
    "experts.likelihood.parameterization": "edm | vdm",
}
# Keys whose value is free text (paths, lists with their own syntax): every other key must show a value rule in
# --help or be enumerated above, so that a new count or size key cannot be added without one.
FREE_TEXT = re.compile(r"^(experts\.(quality|likelihood)|nll\.dataset|fid\.(extractor|reference)|output\.path|"
                       r"sweep\.(steps|task))$")
HELP_LINE = re.compile(r"^\s+--([a-z_]+(?:\.[a-z_]+)+)\s+(.*)$")


def keys_of(exe, command):
    out = subprocess.run([exe, command, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    keys = {}
    for line in out.stdout.splitlines():
        m = HELP_LINE.match(line)
        if m:
            keys[m.group(1)] = m.group(2)
    return keys


def bad_values(help_text):
    if "; an integer" in help_text:
        m = re.search(r"an integer (?:>= ([-\d.e+]+)|in \[([-\d.e+]+),)", help_text)
        minimum = float(m.group(1) or m.group(2)) if m else None
        values = ["1.5", "many", "99999999999999999999"]
        if minimum is not None and minimum >= 0:
            values.append("-5")
        return values
    if "; a finite number" in help_text or "; a number" in help_text:
        values = ["nan", "many", "1e400x"]
        if "; a finite number" in help_text:
            values.append("inf")
        return values
    if "; a comma-separated list of finite numbers" in help_text:
        return ["0, nan", "0, -1", "0, x"]
    if "; a boolean" in help_text:
        return ["maybe"]
    return []


def run(exe, command, args):
    cmd = [exe, command] + REQUIRED.get(command, []) + args
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def main():
    exe = sys.argv[1]
    failures, runs = [], 0
    seen = set()
    for command in COMMANDS:
        for key, help_text in keys_of(exe, command).items():
            if key in seen:
                continue
            seen.add(key)
            values = bad_values(help_text)
            if key in ENUMERATED:
                values = ["bogus"]
            elif not values and not FREE_TEXT.match(key):
                failures.append(f"--{key} shows no value rule in `{command} --help` (src/cli/config_keys.cpp): "
                                f"{help_text}")
            for value in values:
                runs += 1
                r = run(exe, command, [f"--{key}", value])
                text = r.stdout + r.stderr
                if r.returncode != 1 or key not in text:
                    failures.append(f"{command} --{key} {value!r}: exit {r.returncode}: {text.strip()[-300:]}")
                elif key in ENUMERATED and ENUMERATED[key] not in text:
                    failures.append(f"{command} --{key} {value!r}: message lacks the allowed values: {text.strip()}")
    missing = [k for k in ENUMERATED if k not in seen]
    if missing:
        failures.append(f"enumerated keys not found in --help: {missing}")
    with tempfile.TemporaryDirectory() as folder:
        for command in COMMANDS:
            runs += 1
            r = run(exe, command, ["--config", folder])
            if r.returncode != 1 or "is a directory" not in r.stdout + r.stderr:
                failures.append(f"{command} --config FOLDER: exit {r.returncode}: {(r.stdout + r.stderr)[-300:]}")
    print(f"{runs} bad values over {len(seen)} keys of {len(COMMANDS)} commands")
    if failures:
        print("\n".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
