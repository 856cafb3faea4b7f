#!/usr/bin/python3
"""Checks types.h5 in the working folder with h5py, for tests/io/test_h5_file.cpp
(H5File.RoundTripsEveryElementTypeAndShape): the values and dtypes another program sees; fails (an assertion) otherwise.
"""
import h5py, numpy as np
f = h5py.File('types.h5', 'r')
assert f['u8'].dtype == np.uint8 and f['u8'].shape == (2, 3), f['u8']
assert f['u8'][1, 2] == 255
assert f['group/deeper/i64'].dtype == np.int64 and f['group/deeper/i64'][2, 0, 1] == 2**63 - 1
assert f['f64'][1] == -1.0 / 3.0
assert f['f32'].dtype == np.float32 and f['f32'].compression == 'gzip' and f['f32'].chunks == (2,)
assert f['scalar'][()] == 2.75
