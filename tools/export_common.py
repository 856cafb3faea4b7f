"""Pieces every exporter in tools/ shares: error exit, reading a local path or URL, file hashing.

The exporters run as scripts (python3 tools/export_*.py), so this sibling module is importable.
"""
import hashlib
import os
import sys
import urllib.request


def fail(message: str) -> None:
    """Prints 'export_xxx.py: error: message' and exits 1 (bad input, as switchdiff's exit codes)."""
    print("{}: error: {}".format(os.path.basename(sys.argv[0]), message), file=sys.stderr)
    sys.exit(1)


def read_bytes(source: str, what: str) -> bytes:
    """The bytes of a local file or URL; `what` names the expected content in the error message."""
    try:
        if "://" in source:
            with urllib.request.urlopen(source) as response:
                return response.read()
        with open(source, "rb") as f:
            return f.read()
    except FileNotFoundError:
        fail("{}: no such file; give the path or URL of {}".format(source, what))
    except OSError as e:
        fail("{}: cannot read it ({})".format(source, e))


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
