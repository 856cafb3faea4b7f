#!/usr/bin/python3
"""For tests/io/test_h5_file.cpp (H5File.StoresStringAndNumericAttributes), in the working folder: checks the attributes
of attributes.h5 with h5py (fails with an assertion otherwise), then writes from_h5py.h5 with h5py's own string and
integer types for the C++ side to read.
"""
import h5py, numpy as np
f = h5py.File('attributes.h5', 'r')
c = f.attrs['config']
assert isinstance(c, str) and len(c) > 200000 and c.endswith('steps = 18 \u2014 \u03c3'), repr(c[-30:])
assert f.attrs['world_size'] == 4 and f.attrs['seed_scale'] == 0.1
assert f['sweep/fid'].attrs['unit'] == 'FID'
# files written by h5py: fixed-length byte strings and int32 data
g = h5py.File('from_h5py.h5', 'w')
g.attrs['fixed'] = b'inception-2015-12-05'
g.attrs['vlen'] = 'sha:abc'
g.attrs['count'] = np.int32(7)
g['data'] = np.arange(6, dtype='>i4').reshape(2, 3)
g['text'] = 'a string dataset'
g.close()
