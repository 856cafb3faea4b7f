#!/usr/bin/python3
"""Mutation fuzz of switchdiff's file readers through the real binary (docs/testing.md).

Small valid files are generated here (IDX images and labels, IDX.gz, a CIFAR-10 batch, a downsampled-ImageNet
.npz, a dataset HDF5, reference statistics as EDM .npz and as HDF5); each is mutated (byte flips, truncations,
extensions, header fields set to huge, zero or negative values) and run through `switchdiff prepare`, `stats` or
`fid` with a per-run timeout. Every run must end in one of two ways:
  exit 1 with an error message on stderr, or
  exit 0 with a valid output (prepare/stats: an HDF5 file that opens, non-empty and of the right shape; fid: a
  finite FID line).
A signal, exit 2 or 3, a timeout, or exit 0 with a missing, empty or malformed output is a failure. Prints the
counts (runs, exit 0, exit 1) and every failure with the command to reproduce it; exits 1 on any failure.
The mutations are drawn from a seeded generator, so a run is reproducible (--seed).
"""
import argparse
import concurrent.futures
import gzip
import io
import math
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FEATURE_DIM = 16
# Header values that catch unchecked arithmetic: zero, one, sign bit, all ones, and sizes just past 2^31/2^32.
HUGE_U32 = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 65536, 0x10000001]
NPY_SHAPES = ["(99999999999999999999, 48)", "(-4, 48)", "(4611686018427387904, 12)", "(0, 48)", "()", "(4, 48, 1)",
              "(4294967296, 4294967296)", "(4, 3, 4, 4, 1, 1)", "(9223372036854775807, 1)", "48", "(4, 47)",
              "(2, 96)", "(4, 4, 4, 3)", "(4, 3, 4, 4)"]
NPY_DESCRS = ["<f8", "|O", "<u1x", ">i4", "|b1", "<f2", "|u99999999999999999999", "<V4", "'"]


def idx_bytes(a):
    return bytes([0, 0, 0x08, a.ndim]) + b"".join(struct.pack(">I", d) for d in a.shape) + a.tobytes()


def npy_bytes(a, shape_text=None, descr=None):
    shape_text = shape_text if shape_text is not None else repr(tuple(a.shape))
    descr = descr if descr is not None else a.dtype.str
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + a.tobytes()


def npz_bytes(members, compress=False):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name + ".npy", data)
    return out.getvalue()


def h5_bytes(folder, build):
    path = os.path.join(folder, "tmp_build.h5")
    with h5py.File(path, "w") as f:
        build(f)
    data = open(path, "rb").read()
    os.remove(path)
    return data


def make_extractor(path):
    """The tiny feature extractor of tests/fixtures (uint8 [B,3,H,W] -> [B,16]), TorchScript."""
    sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
    import torch
    from tiny_networks import TinyFeatureExtractor
    torch.manual_seed(7)
    torch.jit.script(TinyFeatureExtractor("fuzz-features", FEATURE_DIM).eval()).save(path)


class Seeds:
    """The valid files, and for each kind the command that reads it."""

    def __init__(self, folder):
        rng = np.random.default_rng(11)
        self.folder = folder
        images = rng.integers(0, 256, (6, 5, 4), dtype=np.uint8)
        labels = rng.integers(0, 10, 6, dtype=np.uint8)
        self.labels_idx = os.path.join(folder, "labels.idx")
        open(self.labels_idx, "wb").write(idx_bytes(labels))
        self.idx = idx_bytes(images)
        self.idx_labels = idx_bytes(labels)
        self.idx_gz = gzip.compress(self.idx)
        records = np.concatenate([rng.integers(0, 10, (3, 1), dtype=np.uint8),
                                  rng.integers(0, 256, (3, 3072), dtype=np.uint8)], 1)
        self.cifar = records.tobytes()
        self.imagenet_data = rng.integers(0, 256, (4, 48), dtype=np.uint8)
        self.imagenet_labels = np.arange(1, 5)
        self.npz = npz_bytes({"data": npy_bytes(self.imagenet_data), "labels": npy_bytes(self.imagenet_labels)})
        self.npz_deflated = npz_bytes({"data": npy_bytes(self.imagenet_data),
                                       "labels": npy_bytes(self.imagenet_labels)}, compress=True)
        features = rng.normal(size=(40, FEATURE_DIM))
        self.mu, self.sigma = features.mean(0), np.cov(features, rowvar=False)
        self.ref_npz = npz_bytes({"mu": npy_bytes(self.mu), "sigma": npy_bytes(self.sigma)})
        dataset_images = rng.integers(0, 256, (5, 1, 8, 8), dtype=np.uint8)

        def dataset(f, images=dataset_images, **options):
            f.create_dataset("images", data=images, **options)
            f["labels"] = np.arange(len(images))
        self.dataset_h5 = h5_bytes(folder, dataset)
        self.dataset_h5_gzip = h5_bytes(folder, lambda f: dataset(f, compression="gzip", chunks=(2, 1, 8, 8)))

        def stats(f, mu=self.mu, sigma=self.sigma, n=40):
            f["mu"], f["sigma"], f["n"] = mu, sigma, n
        self.ref_h5 = h5_bytes(folder, stats)
        self.samples_stats = os.path.join(folder, "samples_stats.h5")
        with h5py.File(self.samples_stats, "w") as f:
            stats(f, mu=self.mu + 0.1)
        self.extractor = os.path.join(folder, "extractor.pt")
        make_extractor(self.extractor)
        # Valid files with edited headers or contents that only h5py/numpy can write (not byte-level edits).
        self.h5_variants = [
            h5_bytes(folder, lambda f: dataset(f, images=np.zeros((0, 1, 8, 8), np.uint8))),
            h5_bytes(folder, lambda f: dataset(f, images=np.zeros((3, 1, 0, 8), np.uint8))),
            h5_bytes(folder, lambda f: f.create_dataset("images", shape=(2**40, 1, 8, 8), dtype=np.uint8,
                                                        chunks=(1, 1, 8, 8))),
            h5_bytes(folder, lambda f: f.create_dataset("images", data=np.zeros((4, 1, 8, 8), np.float32))),
            h5_bytes(folder, lambda f: f.create_dataset("images", data=np.zeros((4, 8, 8), np.uint8))),
            h5_bytes(folder, lambda f: (f.create_dataset("images", data=dataset_images),
                                        f.create_dataset("labels", data=np.arange(9)))),
        ]
        w, v = np.linalg.eigh(self.sigma)
        w[0] = -w[-1]
        indefinite = (v * w) @ v.T
        self.ref_npz_variants = [
            npz_bytes({"mu": npy_bytes(self.mu), "sigma": npy_bytes((indefinite + indefinite.T) / 2)}),
            npz_bytes({"mu": npy_bytes(self.mu), "sigma": npy_bytes(self.sigma + np.triu(self.sigma, 1))}),
            npz_bytes({"mu": npy_bytes(np.full(FEATURE_DIM, np.nan)), "sigma": npy_bytes(self.sigma)}),
            npz_bytes({"mu": npy_bytes(self.mu), "sigma": npy_bytes(self.sigma.astype(np.float32))}),
            npz_bytes({"mu": npy_bytes(self.mu)}),
        ]
        self.ref_h5_variants = [
            h5_bytes(folder, lambda f: stats(f, sigma=(indefinite + indefinite.T) / 2)),
            h5_bytes(folder, lambda f: stats(f, n=1)),
            h5_bytes(folder, lambda f: (f.create_dataset("mu", data=self.mu),
                                        f.create_dataset("sigma", shape=(100000, 100000), dtype=np.float64,
                                                         chunks=(1, 100)))),
            h5_bytes(folder, lambda f: (stats(f), f.create_dataset("inception_score", data=np.zeros(0)))),
            h5_bytes(folder, lambda f: (stats(f), f.create_dataset("sum", data=self.mu))),
        ]


def flip(rng, data):
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] ^= rng.randint(1, 255)
    return bytes(out)


def truncate(rng, data):
    return data[:rng.randrange(len(data))]


def extend(rng, data):
    tail = bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 64)))
    return data + (tail if rng.random() < 0.5 else bytes(len(tail)))


def generic(rng, data):
    return rng.choice([flip, truncate, extend])(rng, data)


def edit_idx_header(rng, data):
    out = bytearray(data)
    ndim = out[3] if len(out) > 3 else 0
    field = rng.randrange(max(ndim, 1))
    out[4 + 4 * field:8 + 4 * field] = struct.pack(">I", rng.choice(HUGE_U32))
    if rng.random() < 0.2:
        out[3] = rng.choice([0, 2, 3, 4, 255])
    return bytes(out)


def edit_gzip(rng, data):
    out = bytearray(data)
    spot = rng.choice(["flags", "isize", "crc", "member"])
    if spot == "flags":
        out[3] = rng.randint(0, 255)
    elif spot == "isize":
        out[-4:] = struct.pack("<I", rng.choice(HUGE_U32))
    elif spot == "crc":
        out[-8:-4] = struct.pack("<I", rng.getrandbits(32))
    else:
        return bytes(out) + gzip.compress(b"\x00" * rng.randint(0, 8))  # a second member: legal
    return bytes(out)


def edit_cifar(rng, data):
    out = bytearray(data)
    out[3073 * rng.randrange(len(out) // 3073)] = rng.choice([10, 99, 255])
    return bytes(out)


def edit_npz(rng, seeds):
    data = seeds.imagenet_data
    if rng.random() < 0.7:
        member = npy_bytes(data, shape_text=rng.choice(NPY_SHAPES))
    else:
        member = npy_bytes(data, descr=rng.choice(NPY_DESCRS))
    blob = npz_bytes({"data": member, "labels": npy_bytes(seeds.imagenet_labels)}, compress=rng.random() < 0.5)
    if rng.random() < 0.3:  # the central directory's uncompressed size of the first entry
        out = bytearray(blob)
        at = out.find(b"PK\x01\x02")
        out[at + 24:at + 28] = struct.pack("<I", rng.choice(HUGE_U32))
        blob = bytes(out)
    return blob


def edit_ref_npz(rng, seeds):
    if rng.random() < 0.5:
        return rng.choice(seeds.ref_npz_variants)
    shape = rng.choice(["(99999999999999999999, 16)", "(16, 17)", "(4294967296, 4294967296)", "(0,)", "(16,)",
                        "(-16, 16)", "(256,)"])
    return npz_bytes({"mu": npy_bytes(seeds.mu), "sigma": npy_bytes(seeds.sigma, shape_text=shape)})


class Case:
    def __init__(self, name, kind, data):
        self.name, self.kind, self.data = name, kind, data


def build_cases(seeds, rng, runs):
    """`runs` mutated files spread over the readers; prepare (cheap) gets most, stats (loads the extractor) fewer."""
    makers = [
        ("idx", 14, lambda: (rng.choice([generic, edit_idx_header, edit_idx_header]))(rng, seeds.idx)),
        ("idx_labels", 6, lambda: (rng.choice([generic, edit_idx_header]))(rng, seeds.idx_labels)),
        ("idx_gz", 12, lambda: (rng.choice([generic, edit_gzip, edit_gzip]))(rng, seeds.idx_gz)),
        ("cifar", 8, lambda: (rng.choice([generic, edit_cifar]))(rng, seeds.cifar)),
        ("npz", 16, lambda: edit_npz(rng, seeds) if rng.random() < 0.5
            else generic(rng, rng.choice([seeds.npz, seeds.npz_deflated]))),
        ("dataset_h5", 12, lambda: rng.choice(seeds.h5_variants) if rng.random() < 0.25
            else generic(rng, rng.choice([seeds.dataset_h5, seeds.dataset_h5_gzip]))),
        ("ref_npz", 16, lambda: edit_ref_npz(rng, seeds) if rng.random() < 0.4 else generic(rng, seeds.ref_npz)),
        ("ref_h5", 16, lambda: rng.choice(seeds.ref_h5_variants) if rng.random() < 0.25
            else generic(rng, seeds.ref_h5)),
    ]
    total_weight = sum(w for _, w, _ in makers)
    cases = []
    for kind, weight, make in makers:
        for i in range(max(1, round(runs * weight / total_weight))):
            cases.append(Case(f"{kind}_{i:03d}", kind, make()))
    return cases


def command(exe, seeds, case, path, out):
    if case.kind in ("idx", "idx_gz", "cifar"):
        labels = f" --labels {seeds.labels_idx}" if case.kind != "cifar" else ""
        return f"{exe} prepare --input {path}{labels} --output.path {out}"
    if case.kind == "idx_labels":
        images = os.path.join(seeds.folder, "images.idx")
        if not os.path.exists(images):
            open(images, "wb").write(seeds.idx)
        return f"{exe} prepare --input {images} --labels {path} --output.path {out}"
    if case.kind == "npz":
        return f"{exe} prepare --input {path} --imagenet-version new --output.path {out}"
    if case.kind == "dataset_h5":
        return f"{exe} stats --dataset {path} --fid.extractor {seeds.extractor} --fid.batch 8 --output.path {out}"
    return f"{exe} fid --samples {seeds.samples_stats} --fid.reference {path}"


def valid_output(case, out, stdout):
    """'' when an exit-0 run left a valid result, else what is wrong with it."""
    if case.kind in ("ref_npz", "ref_h5"):
        match = re.search(r"^FID: (\S+)$", stdout, re.M)
        if not match:
            return "no FID line"
        try:
            value = float(match.group(1))
        except ValueError:
            return f"FID {match.group(1)!r} is not a number"
        return "" if math.isfinite(value) else f"FID {value}"
    if not os.path.exists(out) or os.path.getsize(out) == 0:
        return "no output file"
    try:
        with h5py.File(out, "r") as f:
            if case.kind == "dataset_h5":
                mu, sigma, n = f["mu"][...], f["sigma"][...], int(f["n"][()])
                if mu.shape != (FEATURE_DIM,) or sigma.shape != (FEATURE_DIM, FEATURE_DIM) or n < 2:
                    return f"statistics of shape {mu.shape}, {sigma.shape}, n = {n}"
                if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
                    return "non-finite statistics"
                return ""
            x = f["images"]
            if x.dtype != np.uint8 or x.ndim != 4 or min(x.shape) < 1:
                return f"/images {x.dtype} {x.shape}"
            x[...]
            if "labels" in f and f["labels"].shape != (x.shape[0],):
                return f"/labels {f['labels'].shape} for {x.shape[0]} images"
    except Exception as e:  # noqa: BLE001 (any failure to read it is the finding)
        return f"output does not open: {e}"
    return ""


def run_case(exe, seeds, case, folder, timeout):
    path = os.path.join(folder, case.name + {"idx_gz": ".idx.gz", "npz": ".npz", "ref_npz": ".npz"}.get(case.kind,
                                                                                                      ".bin"))
    open(path, "wb").write(case.data)
    out = os.path.join(folder, case.name + ".out.h5")
    cmd = command(exe, seeds, case, path, out)
    env = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout, env=env,
                           errors="replace")
    except subprocess.TimeoutExpired:
        return case, "timeout", f"no exit within {timeout} s", cmd
    if "AddressSanitizer" in r.stderr or "runtime error:" in r.stderr:  # tools/sanitize.sh builds
        return case, r.returncode, f"sanitizer report: {r.stderr.strip()[-1500:]}", cmd
    if r.returncode == 1:
        ok = "error" in r.stderr
        return case, 1, "" if ok else f"exit 1 without an error message on stderr: {r.stderr!r}", cmd
    if r.returncode == 0:
        return case, 0, valid_output(case, out, r.stdout), cmd
    what = f"signal {-r.returncode}" if r.returncode < 0 else f"exit {r.returncode}"
    return case, r.returncode, f"{what}: {(r.stderr or r.stdout).strip()[-400:]}", cmd


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exe", required=True, help="the switchdiff executable")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per run")
    parser.add_argument("--keep", help="folder to keep the mutated files in (default: a temporary one)")
    args = parser.parse_args()
    folder = args.keep or tempfile.mkdtemp(prefix="switchdiff_fuzz_")
    os.makedirs(folder, exist_ok=True)
    seeds = Seeds(folder)
    cases = build_cases(seeds, random.Random(args.seed), args.runs)
    counts = {0: 0, 1: 0}
    failures = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for case, code, problem, cmd in pool.map(lambda c: run_case(args.exe, seeds, c, folder, args.timeout), cases):
            if code in counts:
                counts[code] += 1
            if problem:
                failures.append(f"{case.name}: {problem}\n    {cmd}")
    per_kind = {}
    for case in cases:
        per_kind[case.kind] = per_kind.get(case.kind, 0) + 1
    print(f"fuzz_readers: {len(cases)} runs ({', '.join(f'{k} {n}' for k, n in per_kind.items())}): "
          f"exit 0: {counts[0]}, exit 1: {counts[1]}, failures: {len(failures)}")
    for failure in failures:
        print("FAIL", failure)
    if not args.keep:
        if failures:
            print(f"(mutated files kept in {folder})")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
