"""Independent SHA-256 for tests/core/test_file_hash.cpp: python's hashlib of each file named on the command line,
one hex digest per line."""
import hashlib
import sys

for path in sys.argv[1:]:
    with open(path, "rb") as f:
        print(hashlib.sha256(f.read()).hexdigest())
