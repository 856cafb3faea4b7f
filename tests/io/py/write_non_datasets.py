#!/usr/bin/python3
"""Writes the HDF5 files of tests/io/test_dataset_file.cpp (DatasetFile.ExplainsFilesThatAreNotDatasets) into the
working folder: no_images.h5, float_images.h5, rank3.h5, bad_labels.h5, float_labels.h5 (not datasets) and
int32_labels.h5 (a dataset with int32 labels).
"""
import h5py, numpy as np
with h5py.File('no_images.h5', 'w') as f: f['pixels'] = np.zeros((2, 1, 2, 2), np.uint8)
with h5py.File('float_images.h5', 'w') as f: f['images'] = np.zeros((2, 1, 2, 2), np.float32)
with h5py.File('rank3.h5', 'w') as f: f['images'] = np.zeros((2, 28, 28), np.uint8)
with h5py.File('bad_labels.h5', 'w') as f:
  f['images'] = np.zeros((2, 1, 2, 2), np.uint8)
  f['labels'] = np.zeros(3, np.int64)
with h5py.File('float_labels.h5', 'w') as f:
  f['images'] = np.zeros((2, 1, 2, 2), np.uint8)
  f['labels'] = np.zeros(2, np.float64)
with h5py.File('int32_labels.h5', 'w') as f:
  f['images'] = np.zeros((2, 1, 2, 2), np.uint8)
  f['labels'] = np.array([3, 4], np.int32)
