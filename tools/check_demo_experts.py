#!/usr/bin/python3
"""Python reference checks of the exported demo models, independent of the C++ engines.

    /usr/bin/python3 tools/check_demo_experts.py check                       # load, attributes, shapes
    /usr/bin/python3 tools/check_demo_experts.py grid                        # 8x8 Heun sample grids (PNG)
    /usr/bin/python3 tools/check_demo_experts.py bpd --expert quality --images 32  # -> <out>/bpd_quality.json
    /usr/bin/python3 tools/check_demo_experts.py fid --samples 1000          # -> <out>/fid.json

Outputs go to --out, by default results/demo_checks/ of the repository (created when missing).

* Sampler: EDM Heun, Karras et al. 2022 Alg. 2 with S_churn = 0 (docs/sampling.md): σ_i = (σ_max^(1/ρ) + i/(N−1)
  (σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ, σ_N = 0, float64 state, sample i drawn from its own generator seeded seed_base + i.
* PF-ODE NLL (Song et al. 2021; docs/likelihood.md): dx/dσ = (x − D(x; σ))/σ integrated from σ_min to σ_max with
  Dormand–Prince 5(4) (rtol = atol = 1e-5) with per-image step control: scipy's RK45 one image at a time
  (--integrator scipy) or the same method batched over images (default, several times faster on CPU), log p(y) = log N(x(σ_max); 0, σ_max² I) + ∫ div f dσ, Hutchinson
  divergence with one Rademacher probe fixed per trajectory. Uniform dequantization y = (k + u)·2/256 − 1 and
  bpd = −log p(y)/(D ln 2) + 7. Image j uses seed nll_seed + j for u and the probe, so both experts see the same.
* FID with Fashion-MNIST classifier features (not Inception): docs/metrics.md formula, float64, symmetric eigendecompositions.
"""
import argparse
import json
import math
import os
import struct
import sys
import time
import zlib

import numpy as np
import torch
from scipy.integrate import solve_ivp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_demo_experts import DATA_DIR, load_fashion_mnist, sha256_of as file_sha256  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
MODELS = os.path.join(ROOT, "models")


def load_expert(models, name):
    return torch.jit.load(os.path.join(models, f"{name}.pt")).eval()


# ---------------------------------------------------------------------------------------------- check
def check(args):
    for name in ("quality", "likelihood"):
        m = load_expert(args.models, name)
        attrs = {a: getattr(m, a) for a in ("parameterization", "sigma_min", "sigma_max", "channels", "resolution")}
        expected = {"parameterization": "edm", "sigma_min": 0.002, "sigma_max": 80.0, "channels": 1, "resolution": 28}
        assert attrs == expected, f"{name}: attributes {attrs} != {expected}"
        x = torch.randn(3, 1, 28, 28)
        with torch.no_grad():
            d = m(x, torch.tensor([0.01, 1.0, 50.0]))
        assert d.shape == x.shape and d.dtype == torch.float32, f"{name}: output {d.shape} {d.dtype}"
        assert torch.isfinite(d).all(), f"{name}: non-finite output"
        print(f"{name}: ok {attrs}")
    c = torch.jit.load(os.path.join(args.models, "classifier_features.pt")).eval()
    imgs = torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8).repeat(1, 3, 1, 1)
    with torch.no_grad():
        f, lg = c(imgs), c.logits(imgs)
    assert f.shape == (4, c.feature_dim) and f.dtype == torch.float32, f"classifier features {f.shape}"
    assert lg.shape == (4, 10), f"classifier logits {lg.shape}"
    assert c.name == "fashion-mnist-classifier", c.name
    print(f"classifier_features: ok feature_dim {c.feature_dim} name {c.name}")
    total = sum(os.path.getsize(os.path.join(args.models, f)) for f in os.listdir(args.models))
    print(f"models/ total {total / 2**20:.2f} MiB")
    assert total < 20 * 2**20, "models/ must stay under 20 MiB (the bundled demo stays small enough to clone)"


# ---------------------------------------------------------------------------------------------- sampling
def edm_sigma_grid(num_steps=18, sigma_min=0.002, sigma_max=80.0, rho=7.0):
    i = np.arange(num_steps, dtype=np.float64)
    t = (sigma_max ** (1 / rho) + i / (num_steps - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return np.append(t, 0.0)


def merged_denoiser(quality, likelihood, switch_sigma):
    """docs/experts.md: the quality expert for σ > η, the likelihood expert for σ ≤ η (one σ per call here)."""
    def denoise(x64, sigma):
        net = quality if sigma > switch_sigma else likelihood
        with torch.no_grad():
            out = net(x64.to(torch.float32), torch.full((x64.shape[0],), sigma, dtype=torch.float32))
        return out.to(torch.float64)
    return denoise


def heun_sample(denoise, seeds, num_steps=18):
    """EDM Alg. 2 (deterministic): float64 state, 2nd-order correction except on the last step to σ = 0."""
    t = edm_sigma_grid(num_steps)
    noise = torch.cat([torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(int(s)),
                                   dtype=torch.float64) for s in seeds])
    x = noise * t[0]
    for i in range(num_steps):
        d = (x - denoise(x, t[i])) / t[i]
        x_next = x + (t[i + 1] - t[i]) * d
        if t[i + 1] > 0:
            d2 = (x_next - denoise(x_next, t[i + 1])) / t[i + 1]
            x_next = x + (t[i + 1] - t[i]) * 0.5 * (d + d2)
        x = x_next
    return to_uint8(x)


def to_uint8(y):
    """docs/sampling.md: uint8(clip(y·127.5 + 128, 0, 255)) with truncation (EDM generate.py)."""
    return (y * 127.5 + 128).clip(0, 255).to(torch.uint8)


def write_png_grid(path, images_u8, cols=8, pad=2):
    """Grayscale PNG written by hand (no PIL here): signature, IHDR, one zlib IDAT with filter byte 0, IEND."""
    imgs = images_u8.reshape(-1, 28, 28).numpy()
    rows = math.ceil(len(imgs) / cols)
    canvas = np.full((rows * (28 + pad) + pad, cols * (28 + pad) + pad), 255, dtype=np.uint8)
    for k, img in enumerate(imgs):
        r, c = divmod(k, cols)
        canvas[pad + r * (28 + pad):pad + r * (28 + pad) + 28, pad + c * (28 + pad):pad + c * (28 + pad) + 28] = img
    canvas = np.kron(canvas, np.ones((3, 3), dtype=np.uint8))  # 3x upscale so the viewer shows pixels clearly
    h, w = canvas.shape
    raw = b"".join(b"\x00" + canvas[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def grid(args):
    q, lk = load_expert(args.models, "quality"), load_expert(args.models, "likelihood")
    seeds = np.arange(args.seed_base, args.seed_base + 64)
    for label, eta in (("quality", 0.0), ("likelihood", 1e9)) + tuple((f"merged_eta{e:g}", e)
                                                                        for e in args.switch_sigma):
        t0 = time.time()
        imgs = heun_sample(merged_denoiser(q, lk, eta), seeds, args.steps)
        path = os.path.join(args.out, f"grid_{label}.png")
        write_png_grid(path, imgs)
        print(f"{path}: 64 samples, Heun {args.steps} steps, seeds {seeds[0]}..{seeds[-1]}, {time.time() - t0:.0f} s")
    arrays, _ = load_fashion_mnist(args.data)
    write_png_grid(os.path.join(args.out, "grid_test_data.png"), torch.from_numpy(arrays["test_images"][:64]))


# ---------------------------------------------------------------------------------------------- PF-ODE bpd
def dequantize_and_probe(k_uint8, seeds):
    """Per image j (generator seeded seeds[j]): u ~ U[0,1) per pixel, then a Rademacher probe; y float64."""
    ys, probes = [], []
    for k, seed in zip(k_uint8, seeds):
        gen = torch.Generator().manual_seed(int(seed))
        u = torch.rand(k.shape, generator=gen, dtype=torch.float64)
        ys.append((k.to(torch.float64) + u) * 2.0 / 256.0 - 1.0)  # bins centred on VDM's grid (docs/likelihood.md)
        probes.append((torch.randint(0, 2, k.shape, generator=gen) * 2 - 1).to(torch.float32))
    return torch.stack(ys), torch.stack(probes)


def drift_and_divergence(net, x64, sigma64, probe):
    """f = (x − D(x; σ))/σ (float64, network in float32) and Hutchinson div f = (D − εᵀ(∂D/∂x)ε)/σ, εᵀε = D."""
    x = x64.to(torch.float32).requires_grad_(True)
    d = net(x, sigma64.to(torch.float32))
    (vjp,) = torch.autograd.grad(d, x, probe)
    s = sigma64.reshape(-1, *([1] * (x64.dim() - 1)))
    f = (x64 - d.detach().to(torch.float64)) / s
    div = (x64[0].numel() - (vjp * probe).sum(dim=tuple(range(1, x64.dim()))).to(torch.float64)) / sigma64
    return f, div


def log_prior_bpd(x_t, integral, sigma_max):
    """bpd = −(log N(x_T; 0, σ_max² I) + ∫ div f dσ)/(D ln 2) + 7 per image (docs/likelihood.md)."""
    dim = x_t[0].numel()
    sq = x_t.reshape(x_t.shape[0], -1).square().sum(1)
    log_p = -0.5 * dim * math.log(2 * math.pi * sigma_max ** 2) - 0.5 * sq / sigma_max ** 2 + integral
    return -log_p / (dim * math.log(2.0)) + 7.0


def pf_ode_bpd(net, k_uint8, seed, rtol, atol, sigma_min=0.002, sigma_max=80.0):
    """bits/dim of one image (uint8 [1,28,28]) with scipy RK45 (the plain reference); returns (bpd, nfe)."""
    y, probe = dequantize_and_probe(k_uint8[None], [seed])
    dim = y.numel()
    nfe = [0]

    def rhs(sigma, state):
        nfe[0] += 1
        x = torch.from_numpy(state[:dim]).reshape(y.shape)
        f, div = drift_and_divergence(net, x, torch.full((1,), sigma, dtype=torch.float64), probe)
        return np.concatenate([f.reshape(-1).numpy(), div.numpy()])

    sol = solve_ivp(rhs, (sigma_min, sigma_max), np.concatenate([y.reshape(-1).numpy(), [0.0]]),
                    method="RK45", rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    x_t = torch.from_numpy(sol.y[:dim, -1]).reshape(y.shape)
    return float(log_prior_bpd(x_t, torch.tensor([sol.y[dim, -1]]), sigma_max)[0]), nfe[0]


# Dormand–Prince 5(4) tableau (Dormand & Prince 1980; the pair scipy's RK45 uses).
DP_C = [0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0]
DP_A = [[], [1 / 5], [3 / 40, 9 / 40], [44 / 45, -56 / 15, 32 / 9],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656]]
DP_B = [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]
DP_E = [71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40]  # b5 − b4, 7 stages


def pf_ode_bpd_batched(net, k_uint8, seeds, rtol, atol, sigma_min=0.002, sigma_max=80.0):
    """Same ODE as pf_ode_bpd, but every image keeps its own σ, step size and error control (docs/likelihood.md: per-image)
    while the network sees the active images as one batch (σ per sample). Step control as scipy's RK45:
    RMS norm of err/(atol + rtol·max|y|), factor 0.9·norm^(−1/5) in [0.2, 10], no growth right after a rejection.
    Returns (bpd [B], nfe [B])."""
    y0, probe = dequantize_and_probe(k_uint8, seeds)
    b, dim = y0.shape[0], y0[0].numel()

    def fun(idx, sigma, state):  # state [n, dim + 1] -> derivative [n, dim + 1]
        f, div = drift_and_divergence(net, state[:, :dim].reshape(-1, *y0.shape[1:]), sigma, probe[idx])
        return torch.cat([f.reshape(len(idx), dim), div[:, None]], dim=1)

    def rms(v):
        return v.square().mean(dim=1).sqrt()

    all_idx = torch.arange(b)
    t = torch.full((b,), sigma_min, dtype=torch.float64)
    y = torch.cat([y0.reshape(b, dim), torch.zeros(b, 1, dtype=torch.float64)], dim=1)
    f = fun(all_idx, t, y)
    nfe = torch.ones(b, dtype=torch.long)
    # Initial step: Hairer, Nørsett & Wanner, Solving ODEs I, §II.4 (scipy's select_initial_step).
    scale = atol + rtol * y.abs()
    d0, d1 = rms(y / scale), rms(f / scale)
    h0 = torch.where((d0 < 1e-5) | (d1 < 1e-5), torch.full_like(d0, 1e-6), 0.01 * d0 / d1)
    f1 = fun(all_idx, t + h0, y + h0[:, None] * f)
    nfe += 1
    d2 = rms((f1 - f) / scale) / h0
    h1 = torch.where(torch.maximum(d1, d2) <= 1e-15, torch.maximum(torch.full_like(h0, 1e-6), h0 * 1e-3),
                     (0.01 / torch.maximum(d1, d2)) ** 0.2)
    h = torch.minimum(100 * h0, h1)
    rejected_last = torch.zeros(b, dtype=torch.bool)
    done = torch.zeros(b, dtype=torch.bool)
    while not bool(done.all()):
        a = all_idx[~done]
        ta, ya, ha = t[a], y[a], torch.minimum(h[a], sigma_max - t[a])
        ks = [f[a]]
        for s in range(1, 6):
            ys = ya + ha[:, None] * sum(coef * ks[j] for j, coef in enumerate(DP_A[s]))
            ks.append(fun(a, ta + DP_C[s] * ha, ys))
        y_new = ya + ha[:, None] * sum(coef * ks[j] for j, coef in enumerate(DP_B))
        f_new = fun(a, ta + ha, y_new)
        ks.append(f_new)
        nfe[a] += 6
        err = ha[:, None] * sum(coef * ks[j] for j, coef in enumerate(DP_E))
        norm = rms(err / (atol + rtol * torch.maximum(ya.abs(), y_new.abs())))
        accept = norm <= 1.0
        factor = torch.where(norm == 0, torch.full_like(norm, 10.0), (0.9 * norm.clamp_min(1e-300) ** -0.2))
        factor = factor.clamp(0.2, 10.0)
        factor = torch.where(accept & rejected_last[a], factor.clamp_max(1.0), factor)
        acc = a[accept]
        t[acc], y[acc], f[acc] = ta[accept] + ha[accept], y_new[accept], f_new[accept]
        h[a] = ha * factor
        rejected_last[a] = ~accept
        done = t >= sigma_max * (1 - 1e-12)
    return log_prior_bpd(y[:, :dim], y[:, dim], sigma_max), nfe


def bpd(args):
    torch.set_num_threads(args.threads)
    net = load_expert(args.models, args.expert)
    arrays, _ = load_fashion_mnist(args.data)
    test = torch.from_numpy(arrays["test_images"][:args.images]).unsqueeze(1)
    seeds = [args.nll_seed + j for j in range(args.images)]
    t0 = time.time()
    if args.integrator == "scipy":
        results = []
        for j in range(args.images):
            b, nfe = pf_ode_bpd(net, test[j], seeds[j], args.rtol, args.atol)
            results.append({"image": j, "bpd": b, "nfe": nfe})
            print(f"{args.expert} image {j}: {b:.4f} bpd, {nfe} NFE, {time.time() - t0:.1f} s", flush=True)
    else:
        bpds, nfes = pf_ode_bpd_batched(net, test, seeds, args.rtol, args.atol)
        results = [{"image": j, "bpd": float(bpds[j]), "nfe": int(nfes[j])} for j in range(args.images)]
    vals = np.array([r["bpd"] for r in results])
    summary = {"expert": args.expert, "images": args.images, "mean_bpd": float(vals.mean()),
               "se_bpd": float(vals.std(ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else None,
               "mean_nfe": float(np.mean([r["nfe"] for r in results])), "seconds": round(time.time() - t0, 1),
               "rtol": args.rtol, "atol": args.atol, "nll_seed": args.nll_seed, "integrator": args.integrator,
               "per_image": results,
               "formula": "bpd = -log p(y)/(D ln 2) + 7, y = (k+u)*2/256 - 1; PF-ODE from 0.002 to 80, "
                          "Dormand-Prince 5(4) per image, Hutchinson (1 Rademacher probe per image)"}
    with open(os.path.join(args.out, f"bpd_{args.expert}.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps({k: v for k, v in summary.items() if k != "per_image"}))


# ---------------------------------------------------------------------------------------------- FID
def frechet_distance(mu1, s1, mu2, s2):
    """‖μ₁−μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½), symmetric eigendecompositions only (docs/metrics.md)."""
    w, v = np.linalg.eigh(s1)
    s1_half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = s1_half @ s2 @ s1_half
    wm = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(np.sqrt(np.clip(wm, 0, None))))


def stats(feats):
    f = feats.astype(np.float64)
    return f.mean(0), np.cov(f, rowvar=False)


def fid(args):
    torch.set_num_threads(args.threads)
    extractor_path = os.path.join(args.models, "classifier_features.pt")
    extractor = torch.jit.load(extractor_path).eval()
    arrays, _ = load_fashion_mnist(args.data)

    def features(u8):  # u8: [N, 1, 28, 28]
        with torch.no_grad():
            return torch.cat([extractor(u8[i:i + 500].repeat(1, 3, 1, 1)) for i in range(0, len(u8), 500)]).numpy()

    # Data features are cached beside the outputs, keyed by the extractor's hash (70k images take a while here).
    cache = os.path.join(args.out, f"fid_features_{file_sha256(extractor_path)[:12]}.npz")
    if os.path.exists(cache):
        with np.load(cache) as z:
            train_f, test_f = z["train"], z["test"]
    else:
        train_f = features(torch.from_numpy(arrays["train_images"]).unsqueeze(1))
        test_f = features(torch.from_numpy(arrays["test_images"]).unsqueeze(1))
        np.savez(cache, train=train_f, test=test_f)
    ref = stats(train_f)
    out = {"feature_extractor": "fashion-mnist-classifier (penultimate, 128-d)", "reference": "train set (60000)",
           "fid_test_vs_train": frechet_distance(*stats(test_f), *ref)}
    print(f"FID(test set, train set) with classifier features: {out['fid_test_vs_train']:.4f}", flush=True)
    out["fid_test_subsample_vs_train"] = frechet_distance(*stats(test_f[:max(args.samples, 2)]), *ref)
    if args.samples > 0:
        out.update(sample_fids(args, ref, features))
    with open(os.path.join(args.out, "fid.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


def sample_fids(args, ref, features):
    """FID of each expert's Heun samples against the reference, plus a paired bootstrap SE of the difference."""
    out = {}
    q, lk = load_expert(args.models, "quality"), load_expert(args.models, "likelihood")
    seeds = np.arange(args.seed_base, args.seed_base + args.samples)
    sample_f = {}
    for label, eta in (("quality", 0.0), ("likelihood", 1e9)):
        t0 = time.time()
        imgs = torch.cat([heun_sample(merged_denoiser(q, lk, eta), seeds[i:i + 250], args.steps)
                          for i in range(0, len(seeds), 250)])
        sample_f[label] = features(imgs)
        out[f"fid_{label}"] = frechet_distance(*stats(sample_f[label]), *ref)
        print(f"{label}: FID {out[f'fid_{label}']:.3f} ({len(seeds)} samples, {time.time() - t0:.0f} s)", flush=True)
    # Paired bootstrap over seeds (same resampled seeds for both experts) for the SE of the FID difference;
    # a test-set subsample of the same size shows the finite-sample floor.
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(args.bootstrap):
        idx = rng.integers(0, len(seeds), len(seeds))
        diffs.append(frechet_distance(*stats(sample_f["likelihood"][idx]), *ref)
                     - frechet_distance(*stats(sample_f["quality"][idx]), *ref))
    out["fid_likelihood_minus_quality"] = out["fid_likelihood"] - out["fid_quality"]
    out["fid_difference_bootstrap_se"] = float(np.std(diffs, ddof=1))
    out.update({"samples": len(seeds), "seed_base": args.seed_base, "sampler": f"Heun {args.steps} steps EDM grid"})
    return out


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["check", "grid", "bpd", "fid"])
    p.add_argument("--models", default=MODELS)
    p.add_argument("--data", default=DATA_DIR)
    p.add_argument("--out", default=os.path.join(ROOT, "results", "demo_checks"),
                   help="output folder (default: results/demo_checks of the repository)")
    p.add_argument("--expert", choices=["quality", "likelihood"], default="quality")
    p.add_argument("--images", type=int, default=32)
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--bootstrap", type=int, default=200)
    p.add_argument("--steps", type=int, default=18)
    p.add_argument("--seed-base", type=int, default=0)
    p.add_argument("--nll-seed", type=int, default=0)
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--atol", type=float, default=1e-5)
    p.add_argument("--integrator", choices=["batched", "scipy"], default="batched")
    p.add_argument("--switch-sigma", type=float, nargs="*", default=[])
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    if args.command != "check":
        os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)
    {"check": check, "grid": grid, "bpd": bpd, "fid": fid}[args.command](args)


if __name__ == "__main__":
    main(sys.argv[1:])
