#!/usr/bin/python3
"""References of tests/cli/test_cli_stats_fid.cpp (CliStatsFid), run in the folder holding a.h5, b.h5 and ref_a.h5:

    stats_fid_references.py EXTRACTOR_PT

Prints one JSON line: pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm) on features from torch.jit.load
of EXTRACTOR_PT, the Inception Score of openai/improved-gan (10 consecutive splits), and the relative error of
ref_a.h5's mu and sigma. Writes ref_a.npz, ref_a_compressed.npz and the bad reference files (truncated, corrupt,
missing sigma, wrong shape, NaN, indefinite, asymmetric).
"""
import json, sys, numpy as np, h5py, torch, scipy.linalg
torch.set_num_threads(1)
ext = torch.jit.load(sys.argv[1])
def run(x, method):
    out = []
    with torch.no_grad():
        for i in range(0, len(x), 64):
            b = torch.from_numpy(np.ascontiguousarray(x[i:i + 64]))
            out.append((ext.logits(b) if method == 'logits' else ext(b)).double().numpy())
    return np.concatenate(out)
def stats(f): return f.mean(0), np.cov(f, rowvar=False)
def fid(mu1, s1, mu2, s2):
    diff = mu1 - mu2
    covmean, _ = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
    if np.iscomplexobj(covmean): covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
def inception_score(logits, splits=10):
    n = len(logits); scores = []
    for i in range(splits):
        part = logits[i * n // splits:(i + 1) * n // splits]
        logp = part - part.max(1, keepdims=True); logp -= np.log(np.exp(logp).sum(1, keepdims=True))
        p = np.exp(logp); py = p.mean(0)
        scores.append(np.exp((p * (logp - np.log(py))).sum(1).mean()))
    return float(np.mean(scores)), float(np.std(scores))
a = h5py.File('a.h5', 'r')['images'][...]; b = h5py.File('b.h5', 'r')['images'][...]
mu_a, s_a = stats(run(a, 'f')); mu_b, s_b = stats(run(b, 'f'))
with h5py.File('ref_a.h5', 'r') as f: mu, sigma = f['mu'][...], f['sigma'][...]
is_b = inception_score(run(b, 'logits')); is_a = inception_score(run(a, 'logits'))
print(json.dumps(dict(fid_ab=fid(mu_b, s_b, mu_a, s_a), is_b_mean=is_b[0], is_b_std=is_b[1], is_a_mean=is_a[0],
                      is_a_std=is_a[1],
                      mu_err=float(np.abs(mu - mu_a).max() / np.abs(mu_a).max()),
                      sigma_err=float(np.abs(sigma - s_a).max() / np.abs(s_a).max()))))
np.savez('ref_a.npz', mu=mu, sigma=sigma); np.savez_compressed('ref_a_compressed.npz', mu=mu, sigma=sigma)
raw = open('ref_a.npz', 'rb').read(); open('truncated.npz', 'wb').write(raw[:len(raw) // 2])
open('corrupt.npz', 'wb').write(b'PK\x03\x04' + bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8)))
raw = open('ref_a.h5', 'rb').read(); open('truncated.h5', 'wb').write(raw[:len(raw) // 2])
np.savez('no_sigma.npz', mu=mu)
np.savez('bad_shape.npz', mu=mu, sigma=np.zeros((16, 17)))
np.savez('dim8.npz', mu=np.zeros(8), sigma=np.eye(8))
np.savez('nan.npz', mu=np.full(16, np.nan), sigma=sigma)
with h5py.File('no_sigma.h5', 'w') as f: f['mu'] = mu
with h5py.File('n1.h5', 'w') as f: f['mu'] = mu; f['sigma'] = sigma; f['n'] = 1
indefinite = sigma.copy(); c = 2 * np.sqrt(sigma[0, 0] * sigma[1, 1])  # symmetric, same (positive) diagonal,
indefinite[0, 1] += c; indefinite[1, 0] += c  # the [0:2, 0:2] block has a negative determinant: indefinite
np.savez('indefinite.npz', mu=mu, sigma=indefinite)
with h5py.File('indefinite.h5', 'w') as f: f['mu'] = mu; f['sigma'] = indefinite; f['n'] = 1300
asymmetric = sigma.copy(); asymmetric[0, 1] += 0.1 * np.abs(sigma).max()
np.savez('asymmetric.npz', mu=mu, sigma=asymmetric)
