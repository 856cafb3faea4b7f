#!/usr/bin/python3
"""Tests of tools/export_vdm_flax.py on checkpoints written here in flax's msgpack layout.

The checkpoint has the tree names and shapes of VDM's cifar10 config (google-research/vdm/model_vdm.py and
google-research/vdm/configs/cifar10.py) at a smaller width and depth, filled with random numbers (so a swapped kernel axis
shows), inside a TrainState-like state dict (step, params, ema_params, opt_state). The oracle is a float64
NumPy forward pass of the Flax ScoreUNet written here in NHWC, as Flax computes it; it shares no code with
the exporter. The exported file then runs through `switchdiff nll` and `switchdiff sample` merged with an
EDM stand-in.

  test_export_vdm_flax.py          everything but the real-Flax comparison
  test_export_vdm_flax.py --flax   only the comparison with the real Flax ScoreUNet: exit 77 (CTest SKIPPED)
                                   unless flax, jax and VDM's `vdm` package (SWITCHDIFF_VDM_REPO) import
"""
import math
import os
import subprocess
import sys
import tempfile
import time
import unittest

import h5py
import msgpack
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "tools")
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import tiny_networks as tn  # noqa: E402

C_VDM = 127.5 / 128.0
N_EMBD, N_LAYER = 64, 2  # cifar10: 128 and 32
GAMMA_MIN, GAMMA_MAX = -13.3, 5.0  # google-research/vdm/configs/cifar10.py (the time embedding's normalisation)
LEARNED_B, LEARNED_W = -13.1, -17.9  # gamma(t) = b + |w| t: trained range gamma [-13.1, 4.8]
SMALL_ARGS = ["--config", "cifar10", "--sm-n-embd", N_EMBD, "--sm-n-layer", N_LAYER, "--resolution", 8]


# ---- a writer of flax.serialization.to_bytes's format ---------------------------------------------------

def pack_flax(state_dict, chunk_bytes=2 ** 30):
    """msgpack of a state dict exactly as flax writes it: ndarray -> ext 1 with msgpack([shape, dtype name,
    C-order bytes]), NumPy scalar -> ext 3; an array over `chunk_bytes` (flax: 2**30) split into a chunked map."""
    def chunked(tree):
        out = {}
        for k, v in tree.items():
            if isinstance(v, dict):
                out[k] = chunked(v)
            elif isinstance(v, np.ndarray) and v.nbytes > chunk_bytes:
                per = max(1, chunk_bytes // v.itemsize)
                flat = v.reshape(-1)
                out[k] = {"__msgpack_chunked_array__": True,
                          "shape": {str(i): n for i, n in enumerate(v.shape)},
                          "chunks": {str(i): flat[j:j + per] for i, j in enumerate(range(0, flat.size, per))}}
            else:
                out[k] = v
        return out

    def ext(x):
        if isinstance(x, np.ndarray):
            return msgpack.ExtType(1, msgpack.packb((x.shape, x.dtype.name, x.tobytes("C")), use_bin_type=True))
        if isinstance(x, np.generic):
            a = np.asarray(x)
            return msgpack.ExtType(3, msgpack.packb((a.shape, a.dtype.name, a.tobytes("C")), use_bin_type=True))
        raise TypeError(type(x))

    return msgpack.packb(chunked(state_dict), default=ext, strict_types=True)


# ---- VDM's parameter tree (what ScoreUNet(config).init creates), random values ---------------------------

def score_model_tree(rng, n=N_EMBD, n_layer=N_LAYER, channels=3, attention=False):
    def w(*shape, fan_in=None):
        fan_in = fan_in or int(np.prod(shape[:-1]))
        return (rng.standard_normal(shape) / math.sqrt(fan_in)).astype(np.float32)

    def b(k):
        return (0.1 * rng.standard_normal(k)).astype(np.float32)

    def norm(k):
        return {"scale": (1 + 0.2 * rng.standard_normal(k)).astype(np.float32), "bias": b(k)}

    def resnet(n_in, n_out):
        block = {"GroupNorm_0": norm(n_in), "conv1": {"kernel": w(3, 3, n_in, n_out), "bias": b(n_out)},
                 "cond_proj": {"kernel": w(4 * n, n_out)}, "GroupNorm_1": norm(n_out),
                 "conv2": {"kernel": w(3, 3, n_out, n_out) * 0.5, "bias": b(n_out)}}
        if n_in != n_out:
            block["nin_shortcut"] = {"kernel": w(n_in, n_out), "bias": b(n_out)}
        return block

    def attn(k):
        return {"GroupNorm_0": norm(k), **{p: {"kernel": w(k, k), "bias": b(k)} for p in ["q", "k", "v", "proj_out"]}}

    tree = {"dense0": {"kernel": w(n + 1, 4 * n), "bias": b(4 * n)},
            "dense1": {"kernel": w(4 * n, 4 * n), "bias": b(4 * n)},
            "conv_in": {"kernel": w(3, 3, 5 * channels, n), "bias": b(n)}}
    for i in range(n_layer):
        tree["down.block_{}".format(i)] = resnet(n, n)
        if attention:
            tree["down.attn_{}".format(i)] = attn(n)
    tree["mid.block_1"], tree["mid.attn_1"], tree["mid.block_2"] = resnet(n, n), attn(n), resnet(n, n)
    for i in range(n_layer + 1):
        tree["up.block_{}".format(i)] = resnet(2 * n, n)
        if attention:
            tree["up.attn_{}".format(i)] = attn(n)
    tree["GroupNorm_0"] = norm(n)
    tree["conv_out"] = {"kernel": w(3, 3, n, channels), "bias": b(channels)}
    return tree


def train_state(seed=0, **kwargs):
    """The state dict of VDM's TrainState (train_state.py): params and ema_params differ."""
    rng = np.random.default_rng(seed)
    gamma = {"w": np.array([LEARNED_W], np.float32), "b": np.array([LEARNED_B], np.float32)}
    params = {"score_model": score_model_tree(rng, **kwargs), "gamma": dict(gamma)}
    ema = {"score_model": score_model_tree(rng, **kwargs), "gamma": dict(gamma)}
    return {"step": np.int32(12345), "params": params, "ema_params": ema,
            "opt_state": {"0": {"count": np.array(3, np.int32)}, "1": {}}}


# ---- the oracle: ScoreUNet in NumPy, NHWC, float64 -------------------------------------------------------

def np_forward(p, z, gamma, n=N_EMBD, n_layer=N_LAYER, attention=False):
    """eps_hat for z [B,H,W,C], gamma [B], following model_vdm.py's ScoreUNet line by line."""
    p = {k: v for k, v in p.items()}
    f64 = lambda a: np.asarray(a, np.float64)  # noqa: E731
    swish = lambda x: x / (1 + np.exp(-x))  # noqa: E731

    def dense(q, x):
        y = x @ f64(q["kernel"])
        return y + f64(q["bias"]) if "bias" in q else y

    def conv(q, x):  # 3x3, stride 1, 'SAME'
        k = f64(q["kernel"])
        xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        h, w = x.shape[1:3]
        y = sum(np.einsum("bhwi,io->bhwo", xp[:, dy:dy + h, dx:dx + w], k[dy, dx]) for dy in range(3)
                for dx in range(3))
        return y + f64(q["bias"])

    def group_norm(q, x, groups=32, eps=1e-6):
        bsz, h, w, c = x.shape
        g = x.reshape(bsz, h, w, groups, c // groups)
        mean = g.mean(axis=(1, 2, 4), keepdims=True)
        var = ((g - mean) ** 2).mean(axis=(1, 2, 4), keepdims=True)
        return ((g - mean) / np.sqrt(var + eps)).reshape(x.shape) * f64(q["scale"]) + f64(q["bias"])

    def resnet(q, x, cond):
        h = conv(q["conv1"], swish(group_norm(q["GroupNorm_0"], x)))
        h = h + dense(q["cond_proj"], cond)[:, None, None, :]
        h = conv(q["conv2"], swish(group_norm(q["GroupNorm_1"], h)))
        if "nin_shortcut" in q:
            x = dense(q["nin_shortcut"], x)
        return x + h

    def attn(q, x):
        bsz, h, w, c = x.shape
        hn = group_norm(q["GroupNorm_0"], x)
        qq, kk, vv = (dense(q[s], hn).reshape(bsz, h * w, c) for s in ["q", "k", "v"])
        logits = np.einsum("bqc,bkc->bqk", qq / np.sqrt(c), kk)
        weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        return x + dense(q["proj_out"], np.einsum("bqk,bkc->bqc", weights, vv).reshape(x.shape))

    z, gamma = f64(z), f64(gamma)
    t = (gamma - GAMMA_MIN) / (GAMMA_MAX - GAMMA_MIN) * 1000.0
    half = n // 2
    freqs = np.exp(np.arange(half) * -(np.log(10000) / (half - 1)))
    temb = np.concatenate([np.sin(t[:, None] * freqs), np.cos(t[:, None] * freqs)], axis=1)
    cond = np.concatenate([temb, np.zeros((z.shape[0], 1))], axis=1)
    cond = swish(dense(p["dense1"], swish(dense(p["dense0"], cond))))
    wf = np.tile((2.0 ** np.arange(6, 8) * 2 * np.pi)[None, :], (1, z.shape[-1]))[0]
    zf = np.repeat(z, 2, axis=-1) * wf
    h = conv(p["conv_in"], np.concatenate([z, np.sin(zf), np.cos(zf)], axis=-1))
    hs = [h]
    for i in range(n_layer):
        h = resnet(p["down.block_{}".format(i)], hs[-1], cond)
        if attention:
            h = attn(p["down.attn_{}".format(i)], h)
        hs.append(h)
    h = resnet(p["mid.block_2"], attn(p["mid.attn_1"], resnet(p["mid.block_1"], hs[-1], cond)), cond)
    for i in range(n_layer + 1):
        h = resnet(p["up.block_{}".format(i)], np.concatenate([h, hs.pop()], axis=-1), cond)
        if attention:
            h = attn(p["up.attn_{}".format(i)], h)
    return conv(p["conv_out"], swish(group_norm(p["GroupNorm_0"], h))) + z


def run_tool(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)
    p = subprocess.run([sys.executable, os.path.join(TOOLS, "export_vdm_flax.py")] + [str(a) for a in args],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return p.returncode, p.stdout


def probes(seed, batch=4):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((batch, 8, 8, 3)).astype(np.float32)
    gamma = np.linspace(LEARNED_B, LEARNED_B + abs(LEARNED_W), batch).astype(np.float32)
    return z, gamma


def export_errors(m, tree, seed=1, batch=4):
    """(float32, float64) largest |eps_TorchScript - eps_NumPy| / max |eps_NumPy| over random z at gamma across
    the trained range: the file as switchdiff calls it (float32), and its network run in float64. float32
    is limited by float32 rounding, amplified by the Fourier features' 2^7 2 pi z (~1e-5, as in Flax);
    float64 shows the layout alone."""
    z, gamma = probes(seed, batch)
    expected = np_forward(tree, z, gamma)
    scale = np.abs(expected).max()
    zt, gt = torch.from_numpy(z).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(gamma)
    got32 = m(zt, gt).permute(0, 2, 3, 1).numpy()
    got64 = m.network.double()(zt.double(), gt.double()).permute(0, 2, 3, 1).numpy()
    m.network.float()
    return float(np.abs(got32 - expected).max() / scale), float(np.abs(got64 - expected).max() / scale)


class Case(unittest.TestCase):
    def setUp(self):
        torch.set_num_threads(1)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.t0 = time.time()

    def tearDown(self):
        print("{}: {:.1f} s".format(self.id().split(".")[-1], time.time() - self.t0), file=sys.stderr)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def write(self, name, state, **kwargs):
        with open(self.path(name), "wb") as f:
            f.write(pack_flax(state, **kwargs))
        return self.path(name)

    def assert_rejected(self, rc, output, out, *phrases):
        self.assertEqual(rc, 1, output)
        for phrase in phrases:
            self.assertIn(phrase, output)
        self.assertFalse(os.path.exists(out), "a rejected export must write nothing")
        self.assertFalse(os.path.exists(out + ".tmp"))


class ExportVdmFlaxTest(Case):
    def test_export_matches_numpy_flax_forward(self):
        state = train_state(seed=0)
        # clu.checkpoint's folder layout; one leaf chunked as flax chunks arrays over 2**30 bytes.
        os.makedirs(self.path("checkpoints-0"))
        for n in [1, 2]:
            with open(self.path("checkpoints-0/ckpt-{}.flax".format(n)), "wb") as f:
                f.write(pack_flax(state if n == 2 else train_state(seed=5), chunk_bytes=4096))
        out = self.path("vdm.pt")
        rc, output = run_tool(self.path("checkpoints-0"), *SMALL_ARGS, "--out", out)
        self.assertEqual(rc, 0, output)
        self.assertIn("ckpt-2.flax: using ema_params", output)
        self.assertIn("SKIPPED", output)  # no flax here; where flax exists the --flax entry covers it
        m = torch.jit.load(out)
        self.assertEqual((m.parameterization, m.channels, m.resolution, m.data_scale), ("vdm", 3, 8, C_VDM))
        self.assertAlmostEqual(m.sigma_min, math.exp(LEARNED_B / 2) / C_VDM, places=6)
        self.assertAlmostEqual(m.sigma_max, math.exp((LEARNED_B + abs(LEARNED_W)) / 2) / C_VDM, places=5)
        err32, err64 = export_errors(m, state["ema_params"]["score_model"])
        print("ema_params: max relative |eps_TorchScript - eps_NumPy|: {:.3g} (float32), {:.3g} (float64)".format(
            err32, err64), file=sys.stderr)
        self.assertLess(err32, 1e-4)  # float32 rounding: see export_errors
        self.assertLess(err64, 1e-10)
        self.assertGreater(export_errors(m, state["params"]["score_model"])[0], 1e-2)  # it really took ema_params

        rc, output = run_tool(self.path("checkpoints-0/ckpt-2.flax"), *SMALL_ARGS, "--params", "params",
                              "--out", self.path("raw.pt"))
        self.assertEqual(rc, 0, output)
        err32, err64 = export_errors(torch.jit.load(self.path("raw.pt")), state["params"]["score_model"], seed=2)
        print("params: max relative |eps_TorchScript - eps_NumPy|: {:.3g} (float32), {:.3g} (float64)".format(
            err32, err64), file=sys.stderr)
        self.assertLess(err32, 1e-4)  # float32 rounding: see export_errors
        self.assertLess(err64, 1e-10)

    def test_gradient_matches_the_oracle(self):
        """The likelihood differentiates through the expert: the TorchScript gradient against a central
        difference of the NumPy oracle."""
        state = train_state(seed=3, n_layer=1)
        rc, output = run_tool(self.write("c.flax", state), "--config", "cifar10", "--sm-n-embd", N_EMBD,
                              "--sm-n-layer", 1, "--resolution", 8, "--out", self.path("v.pt"))
        self.assertEqual(rc, 0, output)
        m = torch.jit.load(self.path("v.pt"))
        z, gamma = probes(4, batch=2)
        tree = state["ema_params"]["score_model"]
        zt = torch.from_numpy(z).permute(0, 3, 1, 2).contiguous().requires_grad_(True)
        (g,) = torch.autograd.grad(m(zt, torch.from_numpy(gamma))[:, 1].sum(), zt)
        # Central difference of the NumPy oracle at one pixel of each image.
        step = 1e-6  # the 2^7 2 pi Fourier feature makes larger steps inaccurate
        for b in range(2):
            zp, zm = z.astype(np.float64).copy(), z.astype(np.float64).copy()
            zp[b, 3, 4, 0] += step
            zm[b, 3, 4, 0] -= step
            fd = (np_forward(tree, zp, gamma, n_layer=1)[b, ..., 1].sum()
                  - np_forward(tree, zm, gamma, n_layer=1)[b, ..., 1].sum()) / (2 * step)
            self.assertLess(abs(g[b, 0, 3, 4].item() - fd), 1e-3 * max(1.0, abs(fd)), (b, g[b, 0, 3, 4].item(), fd))

    def test_bad_inputs_are_rejected(self):
        out = self.path("x.pt")
        good = self.write("good.flax", train_state(seed=0))
        with open(good, "rb") as f:
            data = f.read()
        with open(self.path("truncated.flax"), "wb") as f:
            f.write(data[: len(data) // 2])
        self.assert_rejected(*run_tool(self.path("truncated.flax"), *SMALL_ARGS, "--out", out), out,
                             "not a flax msgpack checkpoint", "truncated")
        with open(self.path("text.flax"), "w") as f:
            f.write("model_checkpoint_path: \"ckpt-1\"\n")
        self.assert_rejected(*run_tool(self.path("text.flax"), *SMALL_ARGS, "--out", out), out,
                             "not a flax msgpack checkpoint")
        self.assert_rejected(*run_tool(self.path("missing.flax"), *SMALL_ARGS, "--out", out), out, "no such file")

        state = train_state(seed=0)
        del state["ema_params"]["score_model"]["up.block_1"]["conv2"]["kernel"]
        self.assert_rejected(*run_tool(self.write("m.flax", state), *SMALL_ARGS, "--out", out), out,
                             "ema_params/score_model/up.block_1/conv2/kernel: missing", "(3, 3, 64, 64)")
        state = train_state(seed=0)
        state["ema_params"]["score_model"]["dense0"]["kernel"] = np.zeros((64, 256), np.float32)
        self.assert_rejected(*run_tool(self.write("s.flax", state), *SMALL_ARGS, "--out", out), out,
                             "ema_params/score_model/dense0/kernel: shape (64, 256) in the checkpoint, (65, 256)")
        del state["ema_params"]["gamma"]
        self.assert_rejected(*run_tool(self.write("g.flax", state), *SMALL_ARGS, "--out", out), out,
                             "ema_params/gamma/b: missing")
        # The full-size cifar10 config on the small tree: the first parameter whose shape differs is named.
        self.assert_rejected(*run_tool(good, "--config", "cifar10", "--out", out), out,
                             "score_model/dense0/kernel: shape (65, 256) in the checkpoint, (129, 512)")
        self.assert_rejected(*run_tool(good, "--config", "imagenet64", "--out", out), out,
                             "--config imagenet64: unknown", "cifar10")
        self.assert_rejected(*run_tool(self.write("o.flax", {"step": np.int32(1)}), *SMALL_ARGS, "--out", out), out,
                             "no VDM parameters")


class EndToEndTest(Case):
    def test_nll_and_sample_merged_with_edm(self):
        exe = os.environ.get("SWITCHDIFF_EXE")
        if not exe:
            self.fail("SWITCHDIFF_EXE is not set (CTest sets it to the build's switchdiff)")
        for _ in range(60):  # another engineer may be relinking it
            if os.path.exists(exe):
                break
            time.sleep(5)
        vdm = self.path("vdm.pt")
        state = train_state(seed=0, n_layer=1)
        # A small output layer keeps eps_hat near the base measure z: a smooth field the adaptive PF-ODE solver
        # crosses in ~100 steps (the full random network takes ~1000). The oracle tests cover the layout.
        for name in ["kernel", "bias"]:
            state["ema_params"]["score_model"]["conv_out"][name] *= 0.01
        rc, output = run_tool(self.write("c.flax", state), "--config", "cifar10",
                              "--sm-n-embd", N_EMBD, "--sm-n-layer", 1, "--resolution", 8, "--out", vdm)
        self.assertEqual(rc, 0, output)
        edm = self.path("edm.pt")
        net = tn.TinyEdmExpert(channels=3, resolution=8)
        tn.init_weights(net, 303)
        torch.jit.script(net.eval()).save(edm)
        data = self.path("test.h5")
        with h5py.File(data, "w") as f:
            f.create_dataset("images", data=np.random.default_rng(0).integers(0, 256, (2, 3, 8, 8), dtype=np.uint8))
            f.create_dataset("labels", data=np.zeros(2, np.int64))
        common = ["--experts.quality", edm, "--experts.likelihood", vdm, "--switch.sigma", 1.0, "--run.threads", 1,
                  "--run.backend", "serial", "--run.device", "cpu"]
        env = dict(os.environ, OMP_NUM_THREADS="1")

        def switchdiff(*args):
            p = subprocess.run([exe] + [str(a) for a in args], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True)
            self.assertEqual(p.returncode, 0, p.stdout)
            return p.stdout

        switchdiff("nll", *common, "--nll.dataset", data, "--nll.count", 2, "--nll.rtol", 1e-3, "--nll.atol", 1e-3,
                   "--nll.elbo", "true", "--nll.elbo_samples", 8, "--output.path", self.path("nll.h5"))
        with h5py.File(self.path("nll.h5"), "r") as f:
            for name in ["nll_bpd", "elbo_bpd"]:
                values = np.asarray(f[name])
                self.assertEqual(values.shape, (2,), name)
                self.assertTrue(np.isfinite(values).all(), (name, values))
        switchdiff("sample", *common, "--samples.count", 3, "--sampler.steps", 6, "--output.path",
                   self.path("samples.h5"))
        with h5py.File(self.path("samples.h5"), "r") as f:
            images = np.asarray(f["images"])
        self.assertEqual((images.shape, images.dtype), ((3, 3, 8, 8), np.uint8))


class RealFlaxTest(Case):
    """The port against google-research/vdm's own Flax ScoreUNet (needs flax, jax and the vdm package)."""

    def test_port_matches_flax(self):
        repo = os.environ.get("SWITCHDIFF_VDM_REPO", "")
        state = train_state(seed=0, n_layer=1)
        rc, output = run_tool(self.write("c.flax", state), "--config", "cifar10", "--sm-n-embd", N_EMBD,
                              "--sm-n-layer", 1, "--resolution", 8, "--vdm-repo", repo, "--out", self.path("v.pt"))
        self.assertEqual(rc, 0, output)
        self.assertIn("Flax ScoreUNet vs port", output)


def flax_available():
    if os.environ.get("SWITCHDIFF_VDM_REPO"):
        sys.path.insert(0, os.environ["SWITCHDIFF_VDM_REPO"])
    try:
        import flax  # noqa: F401
        import jax  # noqa: F401
        from vdm import model_vdm  # noqa: F401
        return None
    except Exception as e:
        return "{}: {}".format(type(e).__name__, e)


if __name__ == "__main__":
    if "--flax" in sys.argv:
        sys.argv.remove("--flax")
        missing = flax_available()
        if missing:
            print("SKIP: the real-Flax comparison needs flax, jax and VDM's vdm package (set SWITCHDIFF_VDM_REPO "
                  "to the folder holding it): {}".format(missing))
            sys.exit(77)
        unittest.main(defaultTest="RealFlaxTest")
    unittest.main(defaultTest=["ExportVdmFlaxTest", "EndToEndTest"])
