#!/usr/bin/python3
"""Checks small.h5 in the working folder as h5py sees it, for tests/io/test_dataset_file.cpp
(DatasetFile.RoundTripsAndReadsRanges): dtypes, shapes, pixel pattern and attributes; fails (an assertion) otherwise.
"""
import h5py, numpy as np
f = h5py.File('small.h5', 'r')
x = f['images']
assert x.dtype == np.uint8 and x.shape == (11, 3, 4, 5), x
assert f['labels'].dtype == np.int64 and list(f['labels'][:3]) == [0, 1, 2]
i = np.arange(11 * 60)
assert (x[...].reshape(-1) == ((i * 37 + i // 7) % 256)).all()
assert f.attrs['source_format'] == 'test' and f.attrs['layout'].startswith('images uint8')
