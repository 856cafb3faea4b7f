#!/usr/bin/python3
"""Tests of tools/export_edm.py, export_vdm.py and export_inception.py on stand-in networks
(standin_networks.py) with the interfaces of the real ones. Each exporter runs as a subprocess, as
a user runs it; the test then reloads the file and compares it with the stand-in itself (not with
the exporter's own check), and checks that bad inputs exit 1 with a message and write nothing.
"""
import math
import os
import pickle
import subprocess
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "tools")
sys.path.insert(0, HERE)
import standin_networks as sn  # noqa: E402

C_VDM = 127.5 / 128.0


def run_tool(name, *args):
    """Runs tools/<name> in a fresh interpreter (without this folder on sys.path); returns (rc, output)."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)
    p = subprocess.run([sys.executable, os.path.join(TOOLS, name)] + [str(a) for a in args], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return p.returncode, p.stdout


class ExporterTestCase(unittest.TestCase):
    def setUp(self):
        torch.set_num_threads(1)
        torch.manual_seed(0)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def assert_rejected(self, rc, output, out_file, *phrases):
        self.assertEqual(rc, 1, output)
        for phrase in phrases:
            self.assertIn(phrase, output)
        self.assertFalse(os.path.exists(out_file), "a rejected export must write nothing")
        self.assertFalse(os.path.exists(out_file + ".tmp"))


class ExportEdmTest(ExporterTestCase):
    def pickle_network(self, net, name="net.pkl"):
        with open(self.path(name), "wb") as f:
            pickle.dump({"ema": net.eval(), "loss_fn": None}, f)
        return self.path(name)

    def test_unconditional_edm_matches_original_values_and_gradients(self):
        net = sn.EDMPrecondStandin(img_resolution=8, img_channels=1)
        out = self.path("edm.pt")
        rc, output = run_tool("export_edm.py", self.pickle_network(net), "--edm-repo", HERE, "--out", out)
        self.assertEqual(rc, 0, output)
        m = torch.jit.load(out)
        self.assertEqual((m.parameterization, m.sigma_min, m.sigma_max, m.channels, m.resolution, m.class_label),
                         ("edm", 0.002, 80.0, 1, 8, -1))  # EDMPrecond's [0, inf] clipped to the sampler's range
        self.assertEqual([type(v) for v in (m.sigma_min, m.channels)], [float, int])
        for s in [0.002, 0.05, 1.0, 17.0, 80.0]:
            for batch in [1, 4]:
                x = (torch.rand(batch, 1, 8, 8) * 2 - 1 + s * torch.randn(batch, 1, 8, 8)).requires_grad_(True)
                sigma = torch.full((batch,), s)
                got = m(x, sigma)
                (g_got,) = torch.autograd.grad(got.square().sum(), x)
                expected = net(x, sigma)
                (g_expected,) = torch.autograd.grad(expected.square().sum(), x)
                self.assertLess((got - expected).abs().max().item(), 1e-5, (s, batch))
                self.assertLess((g_got - g_expected).abs().max().item(), 1e-4, (s, batch))

    def test_conditional_vp_needs_a_class_and_uses_it(self):
        net = sn.VPPrecondStandin(img_resolution=8, img_channels=3, label_dim=4)
        pkl = self.pickle_network(net)
        out = self.path("vp.pt")
        self.assert_rejected(*run_tool("export_edm.py", pkl, "--edm-repo", HERE, "--out", out), out,
                             "label_dim = 4", "--class-label")
        rc, output = run_tool("export_edm.py", pkl, "--edm-repo", HERE, "--out", out, "--class-label", 2)
        self.assertEqual(rc, 0, output)
        m = torch.jit.load(out)
        self.assertEqual((m.channels, m.class_label), (3, 2))
        # VPPrecond's own range is [sigma(1e-5), sigma(1)] = [0.0010, 152.0]; EDM's sampler clips it to [0.002, 80].
        self.assertLess(net.sigma_min, 0.002)
        self.assertGreater(net.sigma_max, 80)
        self.assertEqual((m.sigma_min, m.sigma_max), (0.002, 80.0))
        x, sigma = torch.randn(3, 3, 8, 8) * 5, torch.tensor([0.01, 1.0, 60.0])
        label = torch.zeros(3, 4)
        label[:, 2] = 1
        self.assertLess((m(x, sigma) - net(x, sigma, label)).abs().max().item(), 1e-5)
        self.assertGreater((m(x, sigma) - net(x, sigma, label.roll(1, dims=1))).abs().max().item(), 1e-4)

    def test_sigma_overrides(self):
        rc, output = run_tool("export_edm.py", self.pickle_network(sn.EDMPrecondStandin(8, 1)), "--edm-repo", HERE,
                              "--sigma-min", 0.01, "--sigma-max", 50, "--out", self.path("o.pt"))
        self.assertEqual(rc, 0, output)
        m = torch.jit.load(self.path("o.pt"))
        self.assertEqual((m.sigma_min, m.sigma_max), (0.01, 50.0))

    def test_bad_inputs_are_rejected(self):
        pkl = self.pickle_network(sn.EDMPrecondStandin(8, 1))
        out = self.path("x.pt")
        self.assert_rejected(*run_tool("export_edm.py", pkl, "--out", out), out, "standin_networks", "--edm-repo")
        self.assert_rejected(*run_tool("export_edm.py", self.path("missing.pkl"), "--out", out), out, "no such file")
        self.assert_rejected(*run_tool("export_edm.py", pkl, "--edm-repo", HERE, "--key", "nope", "--out", out), out,
                             "no 'nope' entry")
        frozen = self.pickle_network(sn.FrozenBranchStandin(8, 1), "frozen.pkl")
        self.assert_rejected(*run_tool("export_edm.py", frozen, "--edm-repo", HERE, "--out", out), out,
                             "differs from the original", "nothing written")
        with open(out, "w") as f:
            f.write("keep me")
        rc, output = run_tool("export_edm.py", pkl, "--edm-repo", HERE, "--out", out)
        self.assertEqual(rc, 1, output)
        self.assertIn("--force", output)
        with open(out) as f:
            self.assertEqual(f.read(), "keep me")


class ExportVdmTest(ExporterTestCase):
    GAMMA = ["--gamma-min", -13.3, "--gamma-max", 5.0]

    def check_matches(self, m, net):
        for gamma in [-13.3, -4.0, 0.0, 5.0]:
            for batch in [1, 3]:
                z, g = torch.randn(batch, 1, 8, 8), torch.full((batch,), gamma)
                self.assertLess((m(z, g) - net(z, g)).abs().max().item(), 1e-5, (gamma, batch))

    def test_checkpoint_and_module(self):
        net = sn.VdmScoreStandin(channels=1).eval()
        torch.save({"ema": {"module." + k: v for k, v in net.state_dict().items()}}, self.path("ckpt.pt"))
        out = self.path("vdm.pt")
        rc, output = run_tool("export_vdm.py", "--checkpoint", self.path("ckpt.pt"), "--state-key", "ema",
                              "--module", "standin_networks:VdmScoreStandin", "--module-path", HERE,
                              "--channels", 1, "--resolution", 8, *self.GAMMA, "--out", out)
        self.assertEqual(rc, 0, output)
        self.assertIn("scripted", output)
        m = torch.jit.load(out)
        self.assertEqual((m.parameterization, m.channels, m.resolution, m.data_scale), ("vdm", 1, 8, C_VDM))
        # sigma = exp(gamma / 2) / c at the schedule's end points (docs/experts.md).
        self.assertAlmostEqual(m.sigma_min, math.exp(-13.3 / 2) / C_VDM, places=12)
        self.assertAlmostEqual(m.sigma_max, math.exp(5.0 / 2) / C_VDM, places=12)
        self.check_matches(m, net)

    def test_unscriptable_module_is_traced(self):
        net = sn.UnscriptableVdmStandin(channels=1).eval()
        torch.save(net.state_dict(), self.path("ckpt.pt"))
        rc, output = run_tool("export_vdm.py", "--checkpoint", self.path("ckpt.pt"), "--module",
                              "standin_networks:UnscriptableVdmStandin", "--module-path", HERE, "--channels", 1,
                              "--resolution", 8, "--sigma-min", 0.002, "--sigma-max", 80, "--out", self.path("t.pt"))
        self.assertEqual(rc, 0, output)
        self.assertIn("tracing", output)
        m = torch.jit.load(self.path("t.pt"))
        self.assertEqual((m.sigma_min, m.sigma_max), (0.002, 80.0))
        self.check_matches(m, net)

    def test_torchscript_source(self):
        net = sn.VdmScoreStandin(channels=1).eval()
        torch.jit.script(net).save(self.path("eps.pt"))
        out = self.path("vdm.pt")
        self.assert_rejected(*run_tool("export_vdm.py", "--torchscript", self.path("eps.pt"), "--channels", 1,
                                       "--resolution", 8, "--out", out), out, "--gamma-min")
        self.assert_rejected(*run_tool("export_vdm.py", "--torchscript", self.path("eps.pt"), *self.GAMMA,
                                       "--out", out), out, "--channels is required")
        rc, output = run_tool("export_vdm.py", "--torchscript", self.path("eps.pt"), "--channels", 1,
                              "--resolution", 8, *self.GAMMA, "--out", out)
        self.assertEqual(rc, 0, output)
        self.check_matches(torch.jit.load(out), net)

    def test_a_network_the_likelihood_cannot_differentiate_is_not_written(self):
        class DetachingEps(torch.nn.Module):
            def forward(self, z, gamma):
                return z.detach() * 0.5 + 0.0 * gamma.view(-1, 1, 1, 1)

        torch.jit.script(DetachingEps()).save(self.path("detached.pt"))
        out = self.path("vdm.pt")
        self.assert_rejected(*run_tool("export_vdm.py", "--torchscript", self.path("detached.pt"), "--channels", 1,
                                       "--resolution", 8, *self.GAMMA, "--out", out), out,
                             "vector-Jacobian", "nothing written")

    def test_bad_checkpoints_are_rejected(self):
        torch.save({"ema": sn.VdmScoreStandin(channels=3).state_dict()}, self.path("rgb.pt"))
        out = self.path("o.pt")
        common = ["--module", "standin_networks:VdmScoreStandin", "--module-path", HERE, "--channels", 1,
                  "--resolution", 8, *self.GAMMA, "--out", out]
        self.assert_rejected(*run_tool("export_vdm.py", "--checkpoint", self.path("rgb.pt"), *common), out,
                             "--state-key")
        self.assert_rejected(*run_tool("export_vdm.py", "--checkpoint", self.path("rgb.pt"), "--state-key", "ema",
                                       "--module-kwargs", '{"channels": 1}', *common[:-2], "--out", out), out)
        self.assert_rejected(*run_tool("export_vdm.py", "--checkpoint", self.path("rgb.pt"), "--state-key", "ema",
                                       "--module", "no_such_module:Net", "--channels", 1, "--resolution", 8,
                                       *self.GAMMA, "--out", out), out, "--module-path")


class ExportInceptionTest(ExporterTestCase):
    def make_detector(self):
        return sn.InceptionDetectorStandin().eval()

    def check_extractor(self, m, detector, with_logits=True):
        self.assertEqual((m.feature_dim, m.name), (2048, "inception-2015-12-05"))
        images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
        f = m(images)
        self.assertEqual((tuple(f.shape), f.dtype), ((4, 2048), torch.float32))
        self.assertLess((f - detector(images, return_features=True)).abs().max().item(), 1e-5)
        gray = images[:, :1]
        self.assertLess((m(gray) - detector(gray.repeat(1, 3, 1, 1), return_features=True)).abs().max().item(), 1e-5)
        self.assertEqual(hasattr(m, "logits"), with_logits)
        if with_logits:
            p = torch.softmax(m.logits(images), dim=1)
            self.assertEqual(tuple(p.shape), (4, 1008))
            self.assertLess((p - detector(images, no_output_bias=True)).abs().max().item(), 1e-6)
            self.assertGreater((p - detector(images)).abs().max().item(), 1e-6)  # the bias really is dropped

    def test_torchscript_detector(self):
        detector = self.make_detector()
        torch.jit.script(detector).save(self.path("inception-2015-12-05.pt"))
        rc, output = run_tool("export_inception.py", self.path("inception-2015-12-05.pt"), "--out", self.path("f.pt"))
        self.assertEqual(rc, 0, output)
        self.check_extractor(torch.jit.load(self.path("f.pt")), detector)
        rc, output = run_tool("export_inception.py", self.path("inception-2015-12-05.pt"), "--no-logits",
                              "--out", self.path("g.pt"))
        self.assertEqual(rc, 0, output)
        self.check_extractor(torch.jit.load(self.path("g.pt")), detector, with_logits=False)

    def test_pickled_detector(self):
        detector = self.make_detector()
        with open(self.path("inception-2015-12-05.pkl"), "wb") as f:
            pickle.dump(detector, f)
        out = self.path("f.pt")
        self.assert_rejected(*run_tool("export_inception.py", self.path("inception-2015-12-05.pkl"), "--out", out),
                             out, "--repo")
        rc, output = run_tool("export_inception.py", self.path("inception-2015-12-05.pkl"), "--repo", HERE,
                              "--out", out)
        self.assertEqual(rc, 0, output)
        self.check_extractor(torch.jit.load(out), detector)

    def test_wrong_detector_is_rejected(self):
        net = sn.InceptionDetectorStandin()
        net.pool_features = torch.nn.Linear(8, 16)  # 16 features instead of 2048
        torch.jit.script(net).save(self.path("other.pt"))
        out = self.path("f.pt")
        self.assert_rejected(*run_tool("export_inception.py", self.path("other.pt"), "--out", out), out, "2048")
        with open(self.path("text.pt"), "w") as f:
            f.write("not a model\n")
        self.assert_rejected(*run_tool("export_inception.py", self.path("text.pt"), "--out", out), out,
                             "neither TorchScript nor a readable pickle")


if __name__ == "__main__":
    unittest.main()
