#!/usr/bin/python3
"""Fails on a reference in the tree that does not resolve inside the repository (docs/style.md#references).

    /usr/bin/python3 tests/docs/check_references.py [--root REPO]

Scans every tracked text file (`git ls-files`, new files not ignored included; binary files and .h5, .pt, .png, .npz, .gz are skipped) and
reports, as FILE:LINE: message, each

1. path of the repository (`docs/<page>.md`, `src/...`, `tools/...`, `tests/...`, `analysis/...`, `slurm/...`,
   `jobs/...`, `configs/...`, `models/...`, `benchmarks/...`, `cmake/...`, and src-relative module paths
   such as `pipeline/stats_job.h` in src/ and tests/) that names no file or folder of the tree. Placeholders
   (`cmd_<name>.cpp`, `point_<k>.h5`, `*.json`, `${VAR}`, `...`) and the files a user makes by following a
   documented step (GENERATED below) are not references to the tree;
2. `docs/<page>.md#<anchor>` whose page has no heading with that anchor (GitHub's rule: lower case,
   punctuation dropped, spaces to hyphens), and the quoted form `docs/<page>.md, "<Heading>"`, which is to be
   written as an anchor;
3. citation of the product spec or style guide that live outside the repository, or of an issue number:
   the tree must say what it means, or point at docs/.

Exit status 0 when the tree is clean, 1 with the list otherwise.
"""
import argparse
import os
import re
import subprocess
import sys

SKIPPED_SUFFIXES = (".h5", ".pt", ".png", ".npz", ".gz", ".pkl", ".jpg", ".pdf", ".zip")

# Top-level folders whose paths are checked. Outputs (build/, results/, data/, refs/, downloads/) are not in it.
TOP_FOLDERS = ("docs", "src", "tools", "tests", "analysis", "slurm", "jobs", "configs", "models", "benchmarks",
               "cmake")
# src/ modules: `pipeline/stats_job.h` in a comment means src/pipeline/stats_job.h.
MODULES = ("core", "experts", "sampling", "likelihood", "metrics", "dist", "io", "pipeline", "cli")

# Files that a documented step creates (they are not in the tree, and must not be): the CIFAR-10 walk-through
# (docs/cifar10.md) exports these checkpoints into models/.
GENERATED = {
    "models/edm-cifar10-uncond-vp.pt",
    "models/vdm-cifar10.pt",
    "models/inception-2015-12-05.pt",
}
# Path-like text that is not a reference, per file: the reason is given with each.
NOT_REFERENCES = {
    # A made-up expert name that the test expects to find in an error message.
    "tests/experts/test_switched_denoiser.cpp": {"models/broken.pt"},
    # A made-up config file name: the source a test value is attributed to.
    "tests/core/test_config.cpp": {"configs/x.ini"},
}
# This file names paths that do not exist as data (the lists above); it is not scanned.
SELF = "tests/docs/check_references.py"

PATH_RE = re.compile(r"(?<![\w./~$<>-])((?:%s)/[\w.+/<>*{}$~@-]*)" % "|".join(TOP_FOLDERS))
MODULE_RE = re.compile(r"(?<![\w./~$<>-])((?:%s)/[\w.<>*{}-]+\.(?:h|cpp))\b" % "|".join(MODULES))
ANCHOR_RE = re.compile(r"(docs/[\w.-]+\.md)#([\w-]+)")
QUOTED_HEADING_RE = re.compile(r"(docs/[\w.-]+\.md)[,:]? [\"“]([^\"”]+)[\"”]")
PLACEHOLDER_RE = re.compile(r"[<>*{}$]|\.\.\.|…")
# Built without the literal words, so that this file does not report itself.
CITATION_RES = [
    (re.compile("SPEC" + r"\s*§"), "cites the product spec outside the repository; cite a docs/ page"),
    (re.compile(r"\bSPEC\.md\b"), "cites the product spec outside the repository; cite a docs/ page"),
    (re.compile("STYLE" + r"\.md"), "cites the style guide outside the repository; cite docs/style.md"),
    (re.compile(r"\b[Ii]ssues? #?\d+"), "cites an issue number; say what is pinned, or cite a docs/ page"),
]


def tracked_files(root):
    """Tracked files (git ls-files), or every file outside build outputs when the tree is not a git checkout."""
    try:
        # Tracked files, and new ones that git does not ignore (about to be committed).
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             check=True, capture_output=True).stdout
        return sorted(p for p in out.decode().split("\0") if p)
    except (OSError, subprocess.CalledProcessError):
        files = []
        for folder, dirs, names in os.walk(root):
            rel = os.path.relpath(folder, root)
            dirs[:] = [d for d in dirs if not (rel == "." and (d.startswith(("build", ".")) or d in ("results", "data")))
                       and d != "__pycache__"]
            files += [os.path.normpath(os.path.join(rel, n)) for n in names]
        return sorted(files)


def read_text(path):
    if path.endswith(SKIPPED_SUFFIXES):
        return None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def slug(heading):
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors_of(path, cache):
    if path not in cache:
        anchors = set()
        try:
            with open(path, encoding="utf-8") as f:
                in_code = False
                for line in f:
                    if line.startswith("```"):
                        in_code = not in_code
                    m = None if in_code else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
                    if m:
                        base, n = slug(m.group(1)), 1
                        anchor = base
                        while anchor in anchors:
                            anchor, n = f"{base}-{n}", n + 1
                        anchors.add(anchor)
        except OSError:
            pass
        cache[path] = anchors
    return cache[path]


def strip_trailing(path):
    while path and path[-1] in ".,:;)'\"":
        path = path[:-1]
    return path


def exists(root, rel):
    return os.path.exists(os.path.join(root, rel))


def check_file(root, rel, text, anchor_cache):
    problems = []
    in_src_or_tests = rel.startswith(("src/", "tests/", "benchmarks/"))
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{rel}:{number}"
        for pattern, message in CITATION_RES:
            if pattern.search(line):
                problems.append(f"{where}: {message}: {line.strip()[:120]}")
        for m in PATH_RE.finditer(line):
            path = strip_trailing(m.group(1))
            if path.count("/") == 0 or path.endswith("/") and path.rstrip("/") in TOP_FOLDERS:
                continue
            if PLACEHOLDER_RE.search(path) or path in GENERATED or path in NOT_REFERENCES.get(rel, ()):
                continue
            if not exists(root, path):
                problems.append(f"{where}: {path} does not exist")
        if in_src_or_tests:
            for m in MODULE_RE.finditer(line):
                path = m.group(1)
                if PLACEHOLDER_RE.search(path):
                    continue
                # As the compiler finds it: under src/ or tests/ (both are include folders), or beside the file.
                if not any(exists(root, os.path.join(base, path)) for base in ("src", "tests", os.path.dirname(rel))):
                    problems.append(f"{where}: {path} names no file of src/ or tests/")
        for m in ANCHOR_RE.finditer(line):
            page, anchor = m.group(1), m.group(2)
            if exists(root, page) and anchor not in anchors_of(os.path.join(root, page), anchor_cache):
                problems.append(f"{where}: {page} has no heading with the anchor #{anchor}")
        for m in QUOTED_HEADING_RE.finditer(line):
            problems.append(f"{where}: write a section reference as {m.group(1)}#anchor, not "
                            f"{m.group(1)} \"{m.group(2)}\"")
    return problems


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    problems, anchor_cache, scanned = [], {}, 0
    for rel in tracked_files(root):
        if rel == SELF:
            continue
        text = read_text(os.path.join(root, rel))
        if text is None:
            continue
        scanned += 1
        problems += check_file(root, rel, text, anchor_cache)
    for p in problems:
        print(p)
    sys.stdout.flush()
    if problems:
        print(f"check_references: {len(problems)} dangling reference(s) in {scanned} files; the rules are in "
              f"docs/style.md#references", file=sys.stderr)
        return 1
    print(f"check_references: {scanned} files, every reference resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
