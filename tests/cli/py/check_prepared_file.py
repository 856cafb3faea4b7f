#!/usr/bin/python3
"""Checks a prepared dataset file against its sources with h5py/hashlib, for tests/cli/test_cli_prepare.cpp (CliPrepare):

    check_prepared_file.py OUT_H5 KIND      (KIND: idx, cifar, imagenet or another word for the common checks only)

Run in the folder of make_prepare_sources.py's files. Prints "OK <source_format>"; fails (an assertion) otherwise.
"""
import hashlib, sys, numpy as np, h5py
out, kind = sys.argv[1:3]
def sha(path): return hashlib.sha256(open(path, 'rb').read()).hexdigest()
with h5py.File(out, 'r') as f:
    x, a = f['images'][...], f.attrs
    assert x.dtype == np.uint8, x.dtype
    assert a['images_sha256'] == hashlib.sha256(x.tobytes()).hexdigest()
    assert a['source_sha256'].split('\n') == [sha(p) for p in a['source_files'].split('\n')], dict(a)
    if kind == 'idx':
        assert x.shape == (25, 1, 7, 5), x.shape
        assert (x[:, 0] == np.load('images.npy')).all() and (f['labels'][...] == np.load('labels.npy')).all()
        assert a['labels_sha256'] == sha(a['labels_file'])
    if kind == 'cifar':
        raw = np.concatenate([np.fromfile(p, np.uint8).reshape(-1, 3073) for p in ['data_batch_1.bin', 'data_batch_2.bin']])
        assert x.shape == (7, 3, 32, 32) and (x.reshape(7, -1) == raw[:, 1:]).all() and (f['labels'][...] == raw[:, 0]).all()
    if kind == 'imagenet':
        d = np.load('imagenet8.npz')
        assert x.shape == (5, 3, 8, 8) and (x.reshape(5, -1) == d['data']).all() and a['imagenet_version'] == 'new'
    print('OK', a['source_format'])
