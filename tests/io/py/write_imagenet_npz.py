#!/usr/bin/python3
"""Writes the downsampled-ImageNet .npz files of tests/io/test_dataset_import.cpp
(ImagenetImport.ReadsFlatAndChannelsLastNpzAndRecordsTheRelease) into the working folder: flat.npz, nhwc.npz, float.npz,
odd.npz, short_labels.npz, no_data.npz, and nchw.bin (the expected NCHW pixels).
"""
import numpy as np
rng = np.random.RandomState(0)
nchw = rng.randint(0, 256, size=(6, 3, 32, 32)).astype(np.uint8)
labels = np.arange(1, 7)
np.savez('flat.npz', data=nchw.reshape(6, 3072), labels=labels, mean=np.zeros(3072))
np.savez_compressed('nhwc.npz', data=np.ascontiguousarray(nchw.transpose(0, 2, 3, 1)), labels=labels)
np.savez('float.npz', data=nchw.reshape(6, 3072).astype(np.float64))
np.savez('odd.npz', data=np.zeros((6, 3000), np.uint8))
np.savez('short_labels.npz', data=nchw.reshape(6, 3072), labels=labels[:5])
np.savez('no_data.npz', x=nchw)
open('nchw.bin', 'wb').write(nchw.tobytes())
