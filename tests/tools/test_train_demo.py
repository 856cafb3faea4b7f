#!/usr/bin/python3
"""Tests of tools/train_demo_experts.py and tools/check_demo_experts.py at a tiny budget on a synthetic IDX data set
made here (64 train / 32 test images), so they run in seconds and never touch the real Fashion-MNIST files.

Truths used: the losses against D(x; σ) computed through the exported forward() (EDM weighting and ELBO weighting
written out directly); resumed training against uninterrupted training (bitwise); the PF-ODE bpd of a Gaussian data
distribution against its closed form (for a linear denoiser the Rademacher Hutchinson estimate is exact).
"""
import gzip
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "tools")
sys.path.insert(0, TOOLS)
import check_demo_experts as check  # noqa: E402
import demo_training_io as training_io  # noqa: E402
import train_demo_experts as train  # noqa: E402


def write_idx_gz(path, array, magic_type=0x08):
    header = bytes([0, 0, magic_type, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make_dataset(folder, n_train=64, n_test=32):
    rng = np.random.default_rng(0)
    # Class-dependent blobs so that a classifier has something to learn (not needed for passing, but realistic).
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 40, (n, 28, 28))
        for i, c in enumerate(labels):
            images[i, 2 * c:2 * c + 8, 4:24] = 220
        write_idx_gz(os.path.join(folder, f"{split}-images-idx3-ubyte.gz"), images)
        write_idx_gz(os.path.join(folder, f"{split}-labels-idx1-ubyte.gz"), labels)


def run_tool(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, os.path.join(TOOLS, "train_demo_experts.py")] + [str(a) for a in args],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return p.returncode, p.stdout


class TrainDemoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.data = os.path.join(cls.tmp.name, "data")
        os.makedirs(cls.data)
        make_dataset(cls.data)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def dir(self, name):
        return os.path.join(self.tmp.name, name)

    def train(self, model, work, models, *extra):
        rc, out = run_tool(model, "--work", self.dir(work), "--models", self.dir(models), "--data", self.data,
                           "--batch", 8, "--log-every", 1, *extra)
        self.assertEqual(rc, 0, out)
        return out

    def test_expert_export_has_spec_attributes_and_provenance(self):
        for kind in ("quality", "likelihood"):
            self.train(kind, f"work_{kind}", "models_a", "--steps", 2)
            path = os.path.join(self.dir("models_a"), f"{kind}.pt")
            m = torch.jit.load(path)
            self.assertEqual((m.parameterization, m.sigma_min, m.sigma_max, m.channels, m.resolution),
                             ("edm", 0.002, 80.0, 1, 28))
            x, sigma = torch.randn(5, 1, 28, 28), torch.tensor([0.002, 0.1, 1.0, 10.0, 80.0])
            d = m(x, sigma)
            self.assertEqual((d.shape, d.dtype), (x.shape, torch.float32))
            with open(os.path.join(self.dir("models_a"), f"{kind}.json")) as f:
                prov = json.load(f)
            self.assertEqual(prov["steps"], 2)
            self.assertEqual(prov["seed"], {"quality": 1, "likelihood": 2}[kind])
            with open(os.path.join(self.data, "train-images-idx3-ubyte.gz"), "rb") as f:
                self.assertEqual(prov["data"]["sha256"]["train-images-idx3-ubyte.gz"], hashlib.sha256(f.read()).hexdigest())
            with open(path, "rb") as f:
                self.assertEqual(prov["file_sha256"], hashlib.sha256(f.read()).hexdigest())
            self.assertGreater(prov["parameter_count"], 100000)
        # A later --export-only run records the training run's settings, not its own defaults.
        rc, out = run_tool("quality", "--work", self.dir("work_quality"), "--models", self.dir("models_b"),
                           "--data", self.data, "--export-only")
        self.assertEqual(rc, 0, out)
        with open(os.path.join(self.dir("models_b"), "quality.json")) as f:
            prov = json.load(f)
        self.assertEqual(prov["hyperparameters"]["batch"], 8)
        self.assertEqual(len(prov["training_commands"]), 1)
        self.assertIn("--export-only", prov["export_command"])

    def test_resumed_training_equals_uninterrupted_training(self):
        self.train("likelihood", "straight", "m_straight", "--steps", 4, "--no-export")
        self.train("likelihood", "resumed", "m_resumed", "--steps", 2, "--no-export")
        out = self.train("likelihood", "resumed", "m_resumed", "--steps", 4, "--no-export")
        self.assertIn("resumed likelihood at step 2", out)
        a = torch.load(os.path.join(self.dir("straight"), "checkpoint.pt"))
        b = torch.load(os.path.join(self.dir("resumed"), "checkpoint.pt"))
        self.assertEqual(a["state"]["step"], 4)
        self.assertEqual(b["state"]["step"], 4)
        for key in a["ema"]:
            self.assertTrue(torch.equal(a["ema"][key], b["ema"][key]), key)

    def test_losses_are_the_edm_and_elbo_weightings_of_the_denoiser_error(self):
        torch.manual_seed(0)
        net = train.EDMPrecond([6, 7])
        for p in net.parameters():  # non-trivial output: perturb the zero-initialised layers too
            p.data.add_(0.05 * torch.randn_like(p))
        y = torch.rand(4, 1, 28, 28) * 2 - 1
        sigma = torch.tensor([0.003, 0.2, 1.5, 40.0])
        noise = torch.randn_like(y)
        with torch.no_grad():
            edm, elbo = train.expert_losses(net, y, sigma, noise)
            d = net(y + sigma.reshape(-1, 1, 1, 1) * noise, sigma)
        err = (d - y).square().mean(dim=(1, 2, 3)).double()
        s = sigma.double()
        lam = (s ** 2 + 0.25) / (s * 0.5) ** 2  # EDM Table 1 loss weighting
        torch.testing.assert_close(edm.double(), lam * err, rtol=2e-4, atol=0)
        torch.testing.assert_close(elbo.double(), err / s ** 2, rtol=2e-4, atol=0)

    def test_likelihood_sigma_sampling_is_uniform_in_log_sigma(self):
        gen = torch.Generator().manual_seed(0)
        u = torch.cat([(torch.log(train.sample_sigma("likelihood", 64, gen)) - math.log(0.002))
                       / (math.log(80.0) - math.log(0.002)) for _ in range(50)])
        self.assertTrue(((u >= 0) & (u <= 1)).all())
        hist = torch.histc(u, bins=8, min=0, max=1)
        self.assertTrue(torch.equal(hist, torch.full((8,), 400.0)), hist)  # stratified: exactly 8 per 64 per bin
        q = torch.log(torch.cat([train.sample_sigma("quality", 4096, gen)]))
        self.assertAlmostEqual(float(q.mean()), -1.2, delta=0.06)
        self.assertAlmostEqual(float(q.std()), 1.2, delta=0.05)

    def test_classifier_feature_extractor_matches_training_path(self):
        self.train("classifier", "clf", "models_c", "--epochs", 1, "--min-accuracy", 0)
        ext = torch.jit.load(os.path.join(self.dir("models_c"), "classifier_features.pt"))
        self.assertEqual((ext.feature_dim, ext.name), (128, "fashion-mnist-classifier"))
        u8 = torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8)
        f = ext(u8.repeat(1, 3, 1, 1))
        self.assertEqual((f.shape, f.dtype), ((6, 128), torch.float32))
        self.assertEqual(ext.logits(u8.repeat(1, 3, 1, 1)).shape, (6, 10))
        with self.assertRaisesRegex(Exception, r"expects uint8 images \[B, 3, 28, 28\].*\[6, 3, 32, 32\]"):
            ext(torch.zeros(6, 3, 32, 32, dtype=torch.uint8))
        with open(os.path.join(self.dir("models_c"), "classifier_features.json")) as f:
            prov = json.load(f)
        self.assertIn("test_accuracy", prov)

    def test_classifier_below_accuracy_floor_is_not_exported(self):
        rc, out = run_tool("classifier", "--work", self.dir("clf_low"), "--models", self.dir("models_low"),
                           "--data", self.data, "--epochs", 1, "--batch", 8, "--min-accuracy", 1.01)
        self.assertNotEqual(rc, 0)
        self.assertIn("train longer", out)
        self.assertFalse(os.path.exists(os.path.join(self.dir("models_low"), "classifier_features.pt")))

    def test_bad_idx_files_are_rejected_with_the_path(self):
        bad = self.dir("bad.gz")
        write_idx_gz(bad, np.zeros((3, 28, 28)), magic_type=0x09)
        with self.assertRaisesRegex(ValueError, "bad.gz: not an unsigned-byte IDX file"):
            training_io.read_idx_gz(bad)
        with gzip.open(bad, "wb") as f:
            f.write(bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (3, 28, 28)) + b"\0" * 100)
        with self.assertRaisesRegex(ValueError, r"bad.gz: 100 data bytes but header dims \[3, 28, 28\]"):
            training_io.read_idx_gz(bad)

    S = 0.05  # data ~ N(0, S² I): D(x; σ) = x S²/(S² + σ²), p_σ = N(0, (S² + σ²) I)

    class GaussianDenoiser(torch.nn.Module):
        def forward(self, x, sigma):
            s2 = TrainDemoTest.S ** 2
            return x * (s2 / (s2 + sigma.reshape(-1, 1, 1, 1) ** 2))

    def gaussian_bpd(self, k, seed):
        gen = torch.Generator().manual_seed(seed)  # same dequantization noise as the tools draw first
        y = (k.double() + torch.rand(k.shape, generator=gen, dtype=torch.float64)) * 2 / 256 - 1
        var = self.S ** 2 + 0.002 ** 2
        log_p = float(-0.5 * y.numel() * math.log(2 * math.pi * var) - 0.5 * (y ** 2).sum() / var)
        return -log_p / (y.numel() * math.log(2)) + 7

    def test_pf_ode_bpd_of_gaussian_data_matches_closed_form(self):
        k = torch.from_numpy(np.random.default_rng(1).integers(120, 137, (4, 1, 28, 28)).astype(np.uint8))
        expected = [self.gaussian_bpd(k[j], 7 + j) for j in range(4)]
        # rtol 1e-8: the log-det state (~5800 nats) dominates the error budget (1e-6 gives ~1e-4 bpd).
        # 2e-5 bpd is tight enough that skipping the dequantization noise (1.6e-3 bpd here) fails the test.
        bpd, nfe = check.pf_ode_bpd(self.GaussianDenoiser(), k[0], seed=7, rtol=1e-8, atol=1e-8)
        self.assertAlmostEqual(bpd, expected[0], delta=2e-5)
        self.assertGreater(nfe, 10)
        batched, nfes = check.pf_ode_bpd_batched(self.GaussianDenoiser(), k, [7, 8, 9, 10], rtol=1e-8, atol=1e-8)
        for j in range(4):
            self.assertAlmostEqual(float(batched[j]), expected[j], delta=2e-5)
        # Per-image error control: an image's result and NFE do not depend on its batch-mates (docs/likelihood.md).
        alone, nfe_alone = check.pf_ode_bpd_batched(self.GaussianDenoiser(), k[2:3], [9], rtol=1e-8, atol=1e-8)
        self.assertEqual(float(alone[0]), float(batched[2]))
        self.assertEqual(int(nfe_alone[0]), int(nfes[2]))
        # Same method as scipy's RK45: the step counts agree closely at the brief's tolerance too.
        _, nfe_scipy = check.pf_ode_bpd(self.GaussianDenoiser(), k[0], seed=7, rtol=1e-5, atol=1e-5)
        _, nfe_b = check.pf_ode_bpd_batched(self.GaussianDenoiser(), k[0:1], [7], rtol=1e-5, atol=1e-5)
        self.assertLessEqual(abs(int(nfe_b[0]) - nfe_scipy), 0.1 * nfe_scipy)


if __name__ == "__main__":
    unittest.main(verbosity=2)
