#!/usr/bin/python3
"""Writes the files of tests/cli/test_cli_info.cpp (CliInfo) into the working folder: sweep.h5 (the docs/formats.md
sweep layout), ragged_sweep.h5 (columns of different lengths), fid.h5 and text.h5 (not HDF5).
"""
import h5py, numpy as np
with h5py.File('sweep.h5', 'w') as f:
    a = f.attrs
    a['switchdiff_version'] = '0.1.0'; a['git_commit'] = 'abc123def456'; a['created_utc'] = '2026-01-02T03:04:05Z'
    a['command'] = 'switchdiff sweep --config demo.ini'; a['config'] = '[sweep]\nsigmas = 0, 0.5, 80\n'
    a['world_size'] = 4
    g = f.create_group('sweep')
    g['switch_sigma'] = [0.0, 0.5, 80.0]; g['switch_step'] = np.array([-1, 9, -1]); g['fid'] = [12.5, 10.25, 30.0]
    g['inception_score'] = [np.nan] * 3; g['n_samples'] = np.array([64, 64, 0]); g['nll_bpd'] = [3.25, 3.0, np.nan]
    g['nll_bpd_stderr'] = [0.01, 0.02, np.nan]; g['n_test'] = np.array([32, 32, 0])
    g['nll_nfe_mean'] = [400.0, 420.0, np.nan]; g['elbo_bpd'] = [3.5, 3.25, np.nan]
    g['sample_nfe_mean'] = [35.0, 35.0, np.nan]; g['status'] = np.array([2, 1, 0])
    e = f.create_group('experts/quality'); e.attrs['sha256'] = 'ab' * 32; e.attrs['sigma_max'] = 80.0
with h5py.File('ragged_sweep.h5', 'w') as f:
    f['sweep/fid'] = [1.0, 2.0]; f['sweep/nll_bpd'] = [1.0, 2.0, 3.0]
with h5py.File('fid.h5', 'w') as f:
    f.attrs['world_size'] = 1; f['fid'] = 3.25; f['fid'].attrs['metric'] = 'FID (tiny-features features)'
    f['points/0/inception_mu'] = np.zeros(16)
open('text.h5', 'w').write('this is not HDF5')
