#!/usr/bin/python3
"""Writes the empty datasets of tests/io/test_reader_limits.cpp (ReaderLimits.ZeroImageDatasetsAreNeitherWrittenNorRead)
into the working folder: zero.h5 (0 images), flat.h5 (images of height 0), zero.npz and zero_side.npz.
"""
import numpy as np, h5py, zipfile
with h5py.File('zero.h5', 'w') as f: f['images'] = np.zeros((0, 1, 4, 4), np.uint8)
with h5py.File('flat.h5', 'w') as f: f['images'] = np.zeros((3, 1, 0, 4), np.uint8)
np.savez('zero.npz', data=np.zeros((0, 3072), np.uint8))
np.savez('zero_side.npz', data=np.zeros((4, 0), np.uint8))
