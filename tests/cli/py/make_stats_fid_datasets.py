#!/usr/bin/python3
"""Writes the datasets of tests/cli/test_cli_stats_fid.cpp (CliStatsFid) into the working folder: a.h5 (1300 images)
and b.h5 (300 images, brighter background) of smooth random blobs plus noise, 1x12x12; one.h5 (1 image), zero.h5
(0 images) and neither.h5 (no /images).
"""
import numpy as np, h5py
rng = np.random.default_rng(5)
yy, xx = np.mgrid[0:12, 0:12]
def blobs(n, background):
    c = rng.uniform(2, 10, (n, 2, 1, 1)); r = rng.uniform(1.5, 4, (n, 1, 1))
    img = 200 * np.exp(-((yy - c[:, 0]) ** 2 + (xx - c[:, 1]) ** 2) / (2 * r * r)) + rng.normal(background, 20, (n, 12, 12))
    return np.clip(img, 0, 255).astype(np.uint8)[:, None]
def save(name, x):
    with h5py.File(name, 'w') as f: f['images'] = x
save('a.h5', blobs(1300, 20)); save('b.h5', blobs(300, 120)); save('one.h5', blobs(1, 20))
save('zero.h5', np.zeros((0, 1, 12, 12), np.uint8))
with h5py.File('neither.h5', 'w') as f: f['something'] = np.zeros(3)
