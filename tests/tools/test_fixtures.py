#!/usr/bin/python3
"""Checks tests/fixtures/make_tiny_experts.py against independent references (run by ctest, label python).

The Gaussian-mixture epsilon wrapper is compared with a numpy/scipy posterior mean written here
from the text file alone (its own parser, scipy.stats densities, np.linalg.solve), so a wrong
formula or a mismatch between gmm_small.txt and gmm_eps_vdm.pt fails.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
from scipy.stats import multivariate_normal

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "fixtures", "make_tiny_experts.py")
SIGMAS = [0.002, 0.01, 0.1, 0.5, 1.0, 3.0, 10.0, 40.0, 80.0]
C_VDM = 127.5 / 128.0


def build(out):
    subprocess.run([sys.executable, SCRIPT, "--out", out], check=True)


def read_gmm(path):
    """Independent reader of the gmm text format: returns shape, weights, means, covariances."""
    tokens = []
    with open(path) as f:
        for line in f:
            tokens += line.split("#")[0].split()
    assert tokens[:2] == ["gmm", "1"] and tokens[2] == "shape" and tokens[6] == "components"
    shape = tuple(int(t) for t in tokens[3:6])
    d, k, i = int(np.prod(shape)), int(tokens[7]), 8
    weights, means, covs = [], [], []
    for _ in range(k):
        assert tokens[i] == "weight" and tokens[i + 2] == "mean" and tokens[i + 3 + d] == "covariance"
        weights.append(float(tokens[i + 1]))
        means.append(np.array(tokens[i + 3:i + 3 + d], dtype=np.float64))
        covs.append(np.array(tokens[i + 4 + d:i + 4 + d + d * d], dtype=np.float64).reshape(d, d))
        i += 4 + d + d * d
    assert i == len(tokens)
    return shape, np.array(weights) / sum(weights), means, covs


def reference_denoise(x, sigma, weights, means, covs):
    """E[y | x] for y ~ sum w_k N(m_k, S_k), x = y + sigma n (Bayes' rule with Gaussian conditioning)."""
    d = len(means[0])
    dens = np.array([w * multivariate_normal(m, s + sigma**2 * np.eye(d)).pdf(x)
                     for w, m, s in zip(weights, means, covs)])
    post = dens / dens.sum()
    cond = [m + s @ np.linalg.solve(s + sigma**2 * np.eye(d), x - m) for m, s in zip(means, covs)]
    return sum(p * c for p, c in zip(post, cond))


class FixtureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = os.path.join(cls.tmp.name, "a")
        build(cls.dir)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_deterministic_bytes(self):
        other = os.path.join(self.tmp.name, "b")
        build(other)
        for name in sorted(os.listdir(self.dir)):
            with open(self.path(name), "rb") as a, open(os.path.join(other, name), "rb") as b:
                self.assertEqual(a.read(), b.read(), name)

    def test_manifest_lists_every_file(self):
        with open(self.path("manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual(sorted(manifest), sorted(os.listdir(self.dir)))
        self.assertTrue(all(isinstance(v, str) and v for v in manifest.values()))

    def test_expert_metadata(self):
        expected = {
            "tiny_edm.pt": ("edm", 0.002, 80.0, 1, 8), "tiny_edm_b.pt": ("edm", 0.002, 80.0, 1, 8),
            "tiny_edm_rgb.pt": ("edm", 0.002, 80.0, 3, 8), "tiny_edm_narrow.pt": ("edm", 0.5, 80.0, 1, 8),
            "tiny_vdm.pt": ("vdm", 0.002, 80.0, 1, 8), "gmm_eps_vdm.pt": ("vdm", 0.002, 80.0, 1, 2),
            "nan_output.pt": ("edm", 0.002, 80.0, 1, 8), "bad_shape.pt": ("edm", 0.002, 80.0, 1, 8),
            "bad_signature.pt": ("edm", 0.002, 80.0, 1, 8),
        }
        for name, values in expected.items():
            m = torch.jit.load(self.path(name))
            got = (m.parameterization, m.sigma_min, m.sigma_max, m.channels, m.resolution)
            self.assertEqual(got, values, name)
            self.assertEqual([type(v) for v in got], [str, float, float, int, int], name)
            if values[0] == "vdm":
                self.assertEqual(m.data_scale, C_VDM, name)
            else:
                self.assertFalse(hasattr(m, "data_scale"), name)
        bare = torch.jit.load(self.path("no_metadata.pt"))
        for attribute in ["parameterization", "sigma_min", "sigma_max", "channels", "resolution", "data_scale"]:
            self.assertFalse(hasattr(bare, attribute), attribute)

    def test_edm_experts_are_smooth_finite_and_distinct(self):
        g = torch.Generator().manual_seed(3)
        y = torch.rand(4, 1, 8, 8, generator=g) * 2 - 1
        a, b = torch.jit.load(self.path("tiny_edm.pt")), torch.jit.load(self.path("tiny_edm_b.pt"))
        bare = torch.jit.load(self.path("no_metadata.pt"))
        for s in SIGMAS:
            x = y + s * torch.randn(y.shape, generator=g)
            sigma = torch.full((4,), s)
            d = a(x, sigma)
            self.assertTrue(torch.isfinite(d).all(), s)
            self.assertLess(d.abs().max().item(), 10.0, s)
            # Non-trivial: differs from the input (beyond c_skip x) and from the other expert.
            self.assertGreater((d - b(x, sigma)).abs().mean().item(), 1e-4 if s < 0.05 else 1e-2, s)
            # Smooth in sigma: a 0.1% change of sigma moves D by little.
            self.assertLess((a(x, sigma * 1.001) - d).abs().max().item(), 1e-2 * max(1.0, s), s)
            # no_metadata.pt is tiny_edm.pt without attributes: same weights, same output.
            self.assertTrue(torch.equal(bare(x, sigma), d), s)
        # EDM preconditioning: D -> x as sigma -> 0 (c_skip -> 1, c_out -> 0).
        self.assertLess((a(y, torch.full((4,), 1e-4)) - y).abs().max().item(), 1e-3)

    def test_gmm_wrapper_matches_scipy_posterior_mean(self):
        shape, weights, means, covs = read_gmm(self.path("gmm_small.txt"))
        self.assertEqual(shape, (1, 2, 2))
        self.assertEqual(len(weights), 3)
        self.assertTrue(all(np.count_nonzero(c - np.diag(np.diag(c))) > 0 for c in covs))  # full covariances
        m = torch.jit.load(self.path("gmm_eps_vdm.pt"))
        rng = np.random.default_rng(5)
        worst = 0.0
        for s in SIGMAS:
            x = rng.normal(size=(3, 4)) * 0.5 + s * rng.normal(size=(3, 4))
            # What the C++ vdm adapter feeds the network (docs/experts.md), in float32.
            z = torch.tensor(C_VDM * x / np.sqrt(1 + C_VDM**2 * s**2), dtype=torch.float32).reshape(3, 1, 2, 2)
            gamma = torch.full((3,), 2 * np.log(C_VDM * s), dtype=torch.float32)
            eps = m(z, gamma).double().reshape(3, 4).numpy()
            self.assertEqual(m(z, gamma).dtype, torch.float32)
            # Invert the same float32 inputs in float64 for the reference.
            sigma = np.exp(gamma.double().numpy() / 2) / C_VDM
            x32 = z.double().reshape(3, 4).numpy() * (np.sqrt(1 + C_VDM**2 * sigma**2) / C_VDM)[:, None]
            for i in range(3):
                d_ref = reference_denoise(x32[i], sigma[i], weights, means, covs)
                eps_ref = (x32[i] - d_ref) / sigma[i]
                err = np.abs(eps[i] - eps_ref).max() / max(1.0, np.abs(eps_ref).max())
                worst = max(worst, err)
                self.assertLess(err, 1e-6, (s, i))
                # The adapter's D = x - sigma eps reproduces the exact D.
                self.assertLess(np.abs(x32[i] - sigma[i] * eps[i] - d_ref).max(), 1e-5 * max(1.0, s), (s, i))
        print("gmm_eps_vdm worst relative eps error vs scipy: {:.2e}".format(worst))

    def test_vdm_net_is_finite_over_gamma(self):
        m = torch.jit.load(self.path("tiny_vdm.pt"))
        for s in SIGMAS:
            z = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(1))
            eps = m(z, torch.full((2,), 2 * np.log(C_VDM * s), dtype=torch.float32))
            self.assertEqual(eps.shape, z.shape)
            self.assertTrue(torch.isfinite(eps).all(), s)

    def test_broken_experts(self):
        x = torch.randn(3, 1, 8, 8)
        sigma = torch.tensor([0.5, 1.0, 2.0])
        out = torch.jit.load(self.path("nan_output.pt"))(x, sigma)
        self.assertTrue(torch.isnan(out[0]).all())
        self.assertTrue(torch.isfinite(out[1:]).all())
        self.assertEqual(tuple(torch.jit.load(self.path("bad_shape.pt"))(x, sigma).shape), (3, 1, 4, 4))
        with self.assertRaises(RuntimeError):
            torch.jit.load(self.path("bad_signature.pt"))(x, sigma)
        for name in ["truncated.pt", "not_torchscript.pt"]:
            with self.assertRaises(RuntimeError, msg=name):
                torch.jit.load(self.path(name))
        self.assertEqual(os.path.getsize(self.path("truncated.pt")), os.path.getsize(self.path("tiny_edm.pt")) // 2)

    def test_feature_extractors(self):
        a, b = torch.jit.load(self.path("tiny_features.pt")), torch.jit.load(self.path("tiny_features_b.pt"))
        self.assertEqual((a.name, a.feature_dim, b.name, b.feature_dim), ("tiny-features", 16, "tiny-features-b", 16))
        gray = torch.randint(0, 256, (5, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(4))
        rgb = gray.repeat(1, 3, 1, 1)
        f = a(rgb)
        self.assertEqual((f.shape, f.dtype), ((5, 16), torch.float32))
        self.assertTrue(torch.equal(a(gray), f))  # grayscale is repeated to 3 channels
        self.assertEqual(tuple(a.logits(rgb).shape), (5, 10))
        self.assertGreater((a(rgb) - b(rgb)).abs().mean().item(), 1e-3)
        self.assertGreater(f.std(0).min().item(), 1e-4)  # features vary across images


if __name__ == "__main__":
    unittest.main()
