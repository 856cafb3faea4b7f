#!/usr/bin/python3
"""Writes the .npy/.npz inputs of tests/io/test_npz_reader.cpp (NpyReader.ReadsEveryDtypeAndOrderNumpyWritesExactly,
NpzArchive.ReadsStoredAndDeflatedArchives, NpzArchive.RejectsTruncatedAndCorruptFiles) into the working folder.

For every case numpy writes <name>.npy and <name>.f64 (its values as little-endian float64 in C order); also
plain.npz, compressed.npz and npz_mu.f64 / npz_sigma.f64. Prints "ok".
"""
import numpy as np
base = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4) / 3.0 + np.sqrt(2.0)
cases = {
  'f8_c': base,
  'f8_fortran': np.asfortranarray(base),
  'f8_big_endian': base.astype('>f8'),
  'f4_c': base.astype(np.float32),
  'f4_fortran': np.asfortranarray(base.astype(np.float32)),
  'u1': (np.arange(300) % 256).astype(np.uint8).reshape(3, 100),
  'u1_fortran': np.asfortranarray((np.arange(60) * 7 % 256).astype(np.uint8).reshape(3, 4, 5)),
  'i8': np.array([-2**62, -1, 0, 1, 2**53 + 1], dtype=np.int64),
  'i4_big': np.array([[-5, 6], [7, -8]], dtype='>i4'),
  'bool': np.array([True, False, True]),
  'scalar': np.float64(2.5) * np.ones(()),
  'empty': np.zeros((0, 4)),
}
for name, a in cases.items():
  np.save(name + '.npy', a)
  with open(name + '.f64', 'wb') as f:
    f.write(np.ascontiguousarray(a, dtype='<f8').tobytes())
np.savez('plain.npz', mu=base[0], sigma=np.asfortranarray(base[1]), labels=np.arange(5))
np.savez_compressed('compressed.npz', mu=base[0], sigma=np.asfortranarray(base[1]), labels=np.arange(5))
for name, a in {'mu': base[0], 'sigma': base[1]}.items():
  with open('npz_' + name + '.f64', 'wb') as f:
    f.write(np.ascontiguousarray(a, dtype='<f8').tobytes())
print('ok')
