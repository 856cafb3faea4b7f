#!/usr/bin/python3
"""Writes the files of tests/io/test_reader_limits.cpp (ReaderLimits.DamagedHdf5LayoutsAreRefusedBeforeAnyRead) into
the working folder: chunked.h5, a valid dataset file with /images [5, 1, 8, 8] uint8 in chunks of [2, 1, 8, 8], and
bad_chunk.h5, the same bytes with the chunk's third extent set to 177 in the layout message (the mutation the reader
fuzz found: HDF5 never writes a chunk larger than a fixed dimension).
"""
import struct

import h5py
import numpy as np

images = (np.arange(5 * 64) % 251).astype(np.uint8).reshape(5, 1, 8, 8)
with h5py.File("chunked.h5", "w") as f:
    f.create_dataset("images", data=images, chunks=(2, 1, 8, 8))
    f.create_dataset("labels", data=np.arange(5, dtype=np.int64))
data = open("chunked.h5", "rb").read()
# Layout message (version 3, chunked): the chunk extents and then the element size, 4-byte little-endian each.
pattern = struct.pack("<5I", 2, 1, 8, 8, 1)
assert data.count(pattern) == 1, "the chunk layout message was not found exactly once"
at = data.index(pattern)
open("bad_chunk.h5", "wb").write(data[:at] + struct.pack("<5I", 2, 1, 177, 8, 1) + data[at + len(pattern):])
