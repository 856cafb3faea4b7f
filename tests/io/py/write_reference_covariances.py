#!/usr/bin/python3
"""Writes the reference statistics of tests/io/test_reader_limits.cpp
(ReaderLimits.ReferenceCovarianceMustBeSymmetricPositiveSemiDefinite) into the working folder: valid psd.npz, psd32.npz
and psd.h5, and indefinite.npz / indefinite.h5, asymmetric.npz, negative_variance.npz, whose sigma is no covariance.
"""
import numpy as np, h5py
rng = np.random.default_rng(0)
f = rng.normal(size=(5, 8))                      # 5 images, 8 features: rank-deficient but PSD
mu, sigma = f.mean(0), np.cov(f, rowvar=False)
np.savez('psd.npz', mu=mu, sigma=sigma)
np.savez('psd32.npz', mu=mu.astype(np.float32), sigma=sigma.astype(np.float32))
bad = sigma.copy(); c = 2 * np.sqrt(sigma[0, 0] * sigma[1, 1])  # symmetric, diagonal kept: the 2x2 block
bad[0, 1] += c; bad[1, 0] += c                                    # [0:2, 0:2] has a negative determinant
np.savez('indefinite.npz', mu=mu, sigma=bad)
asym = sigma.copy(); asym[0, 1] += 0.1 * np.abs(sigma).max()
np.savez('asymmetric.npz', mu=mu, sigma=asym)
neg = sigma.copy(); neg[2, 2] = -1.0
np.savez('negative_variance.npz', mu=mu, sigma=neg)
with h5py.File('indefinite.h5', 'w') as h: h['mu'] = mu; h['sigma'] = bad; h['n'] = 5
with h5py.File('psd.h5', 'w') as h: h['mu'] = mu; h['sigma'] = sigma; h['n'] = 5
