#!/usr/bin/python3
"""scipy quadrature of the discrete reconstruction term (tests/likelihood/test_elbo_references.cpp,
DiscreteReconstructionMatchesScipyQuadrature).

usage: elbo_quadrature_reference.py OUT.f64
  writes the term for sigma in (0.002, 0.01) and pixel values k in (0, 1, 128, 255) (little-endian float64)."""
import sys, numpy as np
from scipy.integrate import quad
g = np.arange(256) / 127.5 - 1; out = []  # the experts' training grid (dequantization.h)
for sigma in (0.002, 0.01):
    for k in (0, 1, 128, 255):
        d = (g[k] - g) / sigma
        def f(n):
            e = -n * d - 0.5 * d * d; m = e.max()
            return np.exp(-0.5 * n * n) / np.sqrt(2 * np.pi) * (m + np.log(np.exp(e - m).sum()))
        out.append(quad(f, -12, 12, limit=400, epsabs=1e-13)[0])
np.array(out, dtype="<f8").tofile(sys.argv[1])
