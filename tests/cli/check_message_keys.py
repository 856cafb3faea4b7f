"""Every `--section.key` that a message or help text in src/ tells the user to pass is a key some command
declares (`switchdiff <command> --help` lists them), so no advice names a key that does not exist.

Usage: check_message_keys.py SWITCHDIFF_EXE SOURCE_DIR. Exit 0 when all resolve; 1 with file:line of each that
does not."""
import pathlib
import re
import subprocess
import sys

COMMANDS = ["sample", "nll", "stats", "fid", "sweep", "prepare", "info"]
PLACEHOLDERS = {"--section.key"}  # the syntax itself, as in `--section.key VALUE`


def declared_keys(exe):
    keys = set()
    for command in COMMANDS:
        out = subprocess.run([exe, command, "--help"], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            sys.exit(f"{exe} {command} --help exited {out.returncode}: {out.stderr}")
        keys.update(re.findall(r"^\s+--([a-z_]+\.[a-z_]+)\b", out.stdout, re.MULTILINE))
    return keys


def main():
    exe, source_dir = sys.argv[1], pathlib.Path(sys.argv[2])
    keys = declared_keys(exe)
    if len(keys) < 20:
        sys.exit(f"only {len(keys)} keys found in --help: is the help format still parsed right?")
    bad = []
    used = 0
    for path in sorted((source_dir / "src").rglob("*")):
        if path.suffix not in {".cpp", ".h"}:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in re.finditer(r"--([a-z_]+\.[a-z_]+)", line):
                if "--" + match.group(1) in PLACEHOLDERS:
                    continue
                used += 1
                if match.group(1) not in keys:
                    bad.append(f"{path.relative_to(source_dir)}:{number}: --{match.group(1)} is not a declared key")
    print(f"{used} key references in src/ checked against {len(keys)} declared keys")
    if bad:
        print("\n".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
