#!/usr/bin/python3
"""Writes the .npy files of tests/io/test_npz_reader.cpp (NpyReader.RejectsUnsupportedDtypesNamingThem) into the
working folder: complex.npy, object.npy, structured.npy, half.npy (dtypes the reader refuses) and floats.npy.
"""
import numpy as np
np.save('complex.npy', np.zeros(3, dtype=np.complex128))
np.save('object.npy', np.array([{'a': 1}], dtype=object), allow_pickle=True)
np.save('structured.npy', np.zeros(2, dtype=[('x', '<f8'), ('y', '<i4')]))
np.save('half.npy', np.zeros(2, dtype=np.float16))
np.save('floats.npy', np.zeros(2))
