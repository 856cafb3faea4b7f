#!/usr/bin/python3
"""Checks t10k.h5 of the working folder against the Fashion-MNIST test set, for tests/cli/test_cli_prepare.cpp
(CliPrepareSlow.FashionMnistTestSetKeepsTheSourcePixels):

    check_prepared_fashion_mnist.py SOURCE_FOLDER

Prints "images sha256 <hash>" (SHA-256 of the gunzipped IDX payload after its 16-byte header); fails (an assertion)
when the prepared images, their recorded hash or the labels differ.
"""
import gzip, hashlib, sys, numpy as np, h5py
source = sys.argv[1]
pixels = hashlib.sha256(gzip.open(source + '/t10k-images-idx3-ubyte.gz', 'rb').read()[16:]).hexdigest()
labels = np.frombuffer(gzip.open(source + '/t10k-labels-idx1-ubyte.gz', 'rb').read()[8:], np.uint8)
with h5py.File('t10k.h5', 'r') as f:
    assert f['images'].shape == (10000, 1, 28, 28)
    assert f.attrs['images_sha256'] == pixels, (f.attrs['images_sha256'], pixels)
    assert hashlib.sha256(f['images'][...].tobytes()).hexdigest() == pixels
    assert (f['labels'][...] == labels).all()
print('images sha256', pixels)
