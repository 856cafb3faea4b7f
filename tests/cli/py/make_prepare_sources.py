#!/usr/bin/python3
"""Writes the `switchdiff prepare` sources of tests/cli/test_cli_prepare.cpp (suite CliPrepare) into the working folder:
IDX (plain, gzip), CIFAR-10 batches and an ImageNet .npz, with images.npy / labels.npy holding the expected pixels
and labels, and the broken sources (truncated, wrong magic, overflowing headers, zero images, trailing bytes).
"""
import gzip, struct, numpy as np
rng = np.random.default_rng(3)
def idx(data):  # IDX: 0, 0, type 0x08 (ubyte), ndim, big-endian dims, data
    return bytes([0, 0, 0x08, data.ndim]) + b''.join(struct.pack('>I', d) for d in data.shape) + data.tobytes()
images = rng.integers(0, 256, (25, 7, 5), dtype=np.uint8)  # H != W catches a transposed layout
labels = rng.integers(0, 10, 25, dtype=np.uint8)
np.save('images.npy', images); np.save('labels.npy', labels)
open('img.idx', 'wb').write(idx(images)); open('lab.idx', 'wb').write(idx(labels))
with gzip.open('img.idx.gz', 'wb') as f: f.write(idx(images))
with gzip.open('lab.idx.gz', 'wb') as f: f.write(idx(labels))
raw = idx(images)
open('truncated.idx', 'wb').write(raw[:-10])
with gzip.open('truncated.idx.gz', 'wb') as f: f.write(raw[:-10])
open('magic.idx', 'wb').write(bytes([0, 0, 0x0D, 3]) + raw[4:])  # 0x0D = float32 IDX, not images
open('lab24.idx', 'wb').write(idx(labels[:24]))
def cifar(n, seed):
    r = np.random.default_rng(seed)
    return np.concatenate([r.integers(0, 10, (n, 1), dtype=np.uint8), r.integers(0, 256, (n, 3072), dtype=np.uint8)], 1)
open('data_batch_1.bin', 'wb').write(cifar(3, 1).tobytes()); open('data_batch_2.bin', 'wb').write(cifar(4, 2).tobytes())
open('cifar_truncated.bin', 'wb').write(cifar(2, 3).tobytes()[:-1])
np.savez('imagenet8.npz', data=rng.integers(0, 256, (5, 3 * 8 * 8), dtype=np.uint8), labels=np.arange(1, 6))
# Header fields that overflow or lie about the size, zero-image sources, bytes after a gzip stream.
open('huge_dims.idx', 'wb').write(bytes([0, 0, 8, 3]) + struct.pack('>III', 2**32 - 1, 2**32 - 1, 2**32 - 1) + raw[16:])
open('zero_images.idx', 'wb').write(idx(np.zeros((0, 7, 5), np.uint8)))
open('trailing.idx.gz', 'wb').write(gzip.compress(raw) + b'garbage')
open('two_members.idx.gz', 'wb').write(gzip.compress(raw[:100]) + gzip.compress(raw[100:]))
import zipfile
def npy(shape):  # a uint8 .npy header declaring `shape`, with no data
    h = "{'descr': '|u1', 'fortran_order': False, 'shape': %s, }" % shape
    h += ' ' * (63 - (len(h) + 10) % 64) + '\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode()
with zipfile.ZipFile('overflow.npz', 'w') as z: z.writestr('data.npy', npy('(4611686018427387904, 12)'))
with zipfile.ZipFile('huge_dim.npz', 'w') as z: z.writestr('data.npy', npy('(99999999999999999999, 3072)'))
np.savez('zero_images.npz', data=np.zeros((0, 3072), np.uint8))
