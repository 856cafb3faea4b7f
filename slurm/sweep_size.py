#!/usr/bin/python3
"""Prints K, the number of points of a sweep, so a SLURM array can be sized --array=0-(K-1).

Usage: slurm/sweep_size.py [--config FILE.ini] [--section.key VALUE ...]   (the switchdiff command line)

Reads the sweep keys the way `switchdiff sweep` does (SPEC §7; src/cli/settings.cpp sweep_points):
sweep.sigmas = comma-separated list -> one point per entry; sweep.steps = all -> sampler.steps + 1
points (every grid index k = 0..N, both pure experts included); sweep.steps = list -> one per entry.
The command line overrides the file. Comments: lines starting with ';' or '#', and ' ;' / ' #' inline.
Exit codes: 0 printed K; 1 bad input (message says what); 3 the config defines no sweep points.
"""
import configparser
import sys

DEFAULT_SAMPLER_STEPS = 18  # sampler.steps default (src/sampling SamplerOptions, `switchdiff sweep --help`)


def fail(message, code=1):
    print(f"sweep_size: {message}", file=sys.stderr)
    sys.exit(code)


def parse_command_line(argv):
    """Returns (config file or None, {dotted key: value}) from switchdiff-style arguments."""
    config, overrides, i = None, {}, 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--"):
            fail(f"unexpected argument '{arg}': expected --config FILE or --section.key VALUE")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(argv):
                fail(f"{arg} needs a value")
            value, i = argv[i + 1], i + 1
        if key == "config":
            config = value
        else:
            overrides[key] = value
        i += 1
    return config, overrides


def read_ini(path):
    parser = configparser.ConfigParser(comment_prefixes=(";", "#"), inline_comment_prefixes=(";", "#"),
                                       interpolation=None)
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except OSError as e:
        fail(f"cannot read config {path}: {e.strerror}")
    except configparser.Error as e:
        fail(f"{path}: not a valid INI file ({e}); see SPEC §7 for the format")
    return {f"{s}.{k}": v for s in parser.sections() for k, v in parser[s].items()}


def list_length(key, text):
    items = [t.strip() for t in text.split(",") if t.strip()]
    for t in items:
        try:
            float(t)
        except ValueError:
            fail(f"{key} = '{text}': '{t}' is not a number; give a comma-separated list, e.g. 0, 0.5, 80")
    return len(items)


def sweep_size(keys):
    sigmas, steps = keys.get("sweep.sigmas", "").strip(), keys.get("sweep.steps", "").strip()
    if sigmas and steps:
        fail("sweep.sigmas and sweep.steps are both set; give one")
    if sigmas:
        return list_length("sweep.sigmas", sigmas)
    if steps == "all":
        n = keys.get("sampler.steps", str(DEFAULT_SAMPLER_STEPS))
        if not n.strip().isdigit() or int(n) < 1:
            fail(f"sampler.steps = '{n}': expected a positive integer")
        return int(n) + 1
    if steps:
        return list_length("sweep.steps", steps)
    fail("no sweep points: set [sweep] sigmas (e.g. 0, 0.06, 0.3, 1.0, 80) or steps (all | 0,5,9)", code=3)


def main():
    config, overrides = parse_command_line(sys.argv[1:])
    keys = read_ini(config) if config else {}
    keys.update(overrides)
    k = sweep_size(keys)
    if k < 1:
        fail("the sweep has no points")
    print(k)


if __name__ == "__main__":
    main()
