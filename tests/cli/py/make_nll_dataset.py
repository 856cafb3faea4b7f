#!/usr/bin/python3
"""Writes a dataset file for tests/cli/test_cli_nll.cpp (make_dataset, used by the CliNll tests) with h5py, an
independent writer:

    make_nll_dataset.py N C H DTYPE OUT_H5

OUT_H5's /images is an [N, C, H, H] array of DTYPE, pixels (u^2 * 255, u uniform) from a fixed seed.
"""
import sys
import numpy as np, h5py
n, c, h = (int(v) for v in sys.argv[1:4])
dtype, path = sys.argv[4:6]
rng = np.random.default_rng(3)
x = (rng.random((n, c, h, h)) ** 2 * 255).astype(dtype)
h5py.File(path, 'w').create_dataset('images', data=x)
