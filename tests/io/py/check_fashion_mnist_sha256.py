#!/usr/bin/python3
"""Checks a prepared Fashion-MNIST split for tests/io/test_fashion_mnist.cpp
(FashionMnist.PreparedImagesHaveTheSourcePixelsSha256):

    check_fashion_mnist_sha256.py IMAGES_IDX_GZ LABELS_IDX_GZ OUT_H5

Prints "images SRC OURS" and "labels SRC OURS" (SHA-256 of the gunzipped IDX payload and of OUT_H5's /images and
/labels read by h5py) and fails (an assertion) when they differ.
"""
import gzip, hashlib, sys, h5py, numpy as np
images, labels, out = sys.argv[1:4]
src = hashlib.sha256(gzip.open(images, 'rb').read()[16:]).hexdigest()
src_labels = hashlib.sha256(np.frombuffer(gzip.open(labels, 'rb').read()[8:], np.uint8).astype('<i8').tobytes()).hexdigest()
with h5py.File(out, 'r') as f:
  x = f['images']
  assert x.shape[1:] == (1, 28, 28) and x.dtype == np.uint8, x
  ours = hashlib.sha256(np.ascontiguousarray(x[...]).tobytes()).hexdigest()
  ours_labels = hashlib.sha256(f['labels'][...].astype('<i8').tobytes()).hexdigest()
  assert f.attrs['source_format'] == 'idx.gz'
print('images', src, ours)
print('labels', src_labels, ours_labels)
assert src == ours and src_labels == ours_labels
