#!/usr/bin/python3
"""Brute-force numpy Monte Carlo of the ELBO's diffusion term with its own Gaussian-mixture denoiser
(tests/likelihood/test_elbo_references.cpp, DiffusionTermMatchesBruteForceMonteCarlo).

usage: elbo_brute_force_reference.py MIXTURE.json Y.f64 OUT.f64
  writes, per image, the Monte Carlo mean and its standard error (little-endian float64)."""
import json, sys, numpy as np
mix = json.load(open(sys.argv[1])); y = np.fromfile(sys.argv[2], dtype="<f8").reshape(-1, 4)
w = np.array(mix["weights"]); w = w / w.sum()
means = np.array(mix["means"]).reshape(len(w), 4); covs = np.array(mix["covariances"]).reshape(len(w), 4, 4)
rng = np.random.default_rng(2024); S = 200000; lo, hi = np.log(0.002), np.log(80.0)
out = []
for yi in y:
    log_s = rng.uniform(lo, hi, S); s2 = np.exp(2 * log_s); x = yi + np.exp(log_s)[:, None] * rng.standard_normal((S, 4))
    logj, post = [], []
    for k in range(len(w)):
        C = covs[k][None] + s2[:, None, None] * np.eye(4)[None]           # [S, 4, 4]
        r = x - means[k]
        sol = np.linalg.solve(C, r[:, :, None])[:, :, 0]                   # C^-1 r
        logj.append(np.log(w[k]) - 0.5 * (4 * np.log(2 * np.pi) + np.linalg.slogdet(C)[1] + (r * sol).sum(1)))
        post.append(means[k] + (covs[k][None] @ sol[:, :, None])[:, :, 0])  # m + S C^-1 r
    logj = np.stack(logj, 1); resp = np.exp(logj - logj.max(1, keepdims=True)); resp /= resp.sum(1, keepdims=True)
    D = (resp[:, :, None] * np.stack(post, 1)).sum(1)
    f = (hi - lo) * ((yi - D) ** 2).sum(1) / s2
    out += [f.mean(), f.std() / np.sqrt(S)]
np.array(out, dtype="<f8").tofile(sys.argv[3])
