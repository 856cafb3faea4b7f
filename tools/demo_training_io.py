"""Data, checkpoints and signals for tools/train_demo_experts.py: Fashion-MNIST IDX files read with numpy,
atomic checkpoints, and a stop flag so that SIGTERM/SIGINT end a training run cleanly (it resumes later)."""
import gzip
import hashlib
import os
import signal
import time

import numpy as np
import torch

DATA_DIR = "/usr/share/datasets/fashion-mnist"
DATA_FILES = {"train_images": "train-images-idx3-ubyte.gz", "train_labels": "train-labels-idx1-ubyte.gz",
              "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"}


# ---------------------------------------------------------------------------------------------- data
def read_idx_gz(path):
    """IDX file (LeCun's MNIST format) behind gzip: big-endian magic 0x0000 08 <ndim>, dims, then uint8 data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex()}, expected 000008xx)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {data.size} data bytes but header dims {dims} need {int(np.prod(dims))}")
    return data.reshape(dims).copy()  # writable (torch.from_numpy warns on read-only buffers)


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_fashion_mnist(data_dir):
    """Returns dict of uint8 arrays: images [N, 28, 28], labels [N], and the SHA-256 of each .gz file."""
    arrays = {key: read_idx_gz(os.path.join(data_dir, name)) for key, name in DATA_FILES.items()}
    hashes = {name: sha256_of(os.path.join(data_dir, name)) for name in DATA_FILES.values()}
    return arrays, hashes


def to_model_scale(images_uint8):
    """docs/experts.md: p -> p/127.5 - 1, shape [N, 1, 28, 28] float32."""
    return torch.from_numpy(images_uint8.astype(np.float32) / 127.5 - 1.0).unsqueeze(1)


# ---------------------------------------------------------------------------------------------- checkpoints
def save_checkpoint(work, state):
    tmp = os.path.join(work, "checkpoint.pt.tmp")
    torch.save(state, tmp)
    os.replace(tmp, os.path.join(work, "checkpoint.pt"))  # atomic: a kill mid-write never corrupts the last one


def load_checkpoint(work):
    path = os.path.join(work, "checkpoint.pt")
    return torch.load(path) if os.path.exists(path) else None


class StopFlag:
    """SIGTERM/SIGINT ask the loop to checkpoint and leave instead of dying mid-step."""

    def __init__(self):
        self.requested = False
        signal.signal(signal.SIGTERM, self._handler)
        signal.signal(signal.SIGINT, self._handler)

    def _handler(self, signum, frame):
        print(f"signal {signum}: checkpointing and stopping", flush=True)
        self.requested = True


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)
