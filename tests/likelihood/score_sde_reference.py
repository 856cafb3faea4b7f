#!/usr/bin/python3
"""Reference PF-ODE bits/dim in the style of score_sde's likelihood.py (Song et al. 2021), for parity tests
and the likelihood benchmark. Written for this project; it follows score_sde's structure:

  * VE SDE time t in [0, 1], sigma(t) = sigma_min (sigma_max / sigma_min)^t, probability-flow drift
    dx/dt = -1/2 g(t)^2 score = ln(sigma_max / sigma_min) (x - D(x; sigma(t)))   (--variable t, the default), or
    our ODE dx/dsigma = (x - D) / sigma                                           (--variable sigma);
  * Hutchinson divergence with one fixed probe eps per image: sum(grad(sum(f * eps), x) * eps) in float32;
  * scipy.integrate.solve_ivp(method="RK45", rtol, atol) on the flattened [x, delta_logp] state, the whole batch
    in one solve (score_sde: one error norm for all images) or each image alone (--per-image);
  * log p = log N(x_T; 0, sigma_max^2 I) + delta_logp, bpd = -log p / (D ln 2) + 7.
A merged model (--quality, --likelihood, --switch-sigma) is integrated band by band: the likelihood expert on
[sigma_min, eta], the quality expert on [eta, sigma_max], each band its own solve_ivp.

Inputs are raw little-endian float64 files (the test writes them): --data (dequantized y) and --probes, both
[B, C, H, W]. Writes --out (bpd, float64 [B]) and --out-nfe (float64 [B]) and prints wall and CPU seconds.
"""
import argparse
import math
import time

import numpy as np
import torch
from scipy import integrate


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--likelihood", required=True, help="TorchScript EDM expert used for sigma <= eta (or alone)")
    p.add_argument("--quality", help="TorchScript EDM expert used for sigma > eta")
    p.add_argument("--switch-sigma", type=float, default=None)
    p.add_argument("--data", required=True)
    p.add_argument("--probes", required=True)
    p.add_argument("--shape", type=int, nargs=4, required=True, metavar=("B", "C", "H", "W"))
    p.add_argument("--sigma-min", type=float, default=0.002)
    p.add_argument("--sigma-max", type=float, default=80.0)
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--atol", type=float, default=1e-5)
    p.add_argument("--variable", choices=["t", "sigma"], default="t")
    p.add_argument("--per-image", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", action="store_true", help="solve once untimed first (JIT profiling, kernel caches)")
    p.add_argument("--out", required=True)
    p.add_argument("--out-nfe", required=True)
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    shape = tuple(a.shape)
    data = np.fromfile(a.data, dtype="<f8").reshape(shape)
    probes = np.fromfile(a.probes, dtype="<f8").reshape(shape)
    low = torch.jit.load(a.likelihood).eval()
    high = torch.jit.load(a.quality).eval() if a.quality else low
    for model in (low, high):
        for parameter in model.parameters():
            # grad(..., x) alone is wanted; TorchScript's autodiff would also compute every weight gradient
            # (about 3x the cost), which score_sde's eager-mode models do not.
            parameter.requires_grad_(False)
    eta = a.switch_sigma if a.quality else a.sigma_max
    eta = min(max(eta, a.sigma_min), a.sigma_max)
    log_ratio = math.log(a.sigma_max / a.sigma_min)

    def to_time(sigma):
        return math.log(sigma / a.sigma_min) / log_ratio if a.variable == "t" else sigma

    def sigma_of(time_value):
        return a.sigma_min * (a.sigma_max / a.sigma_min) ** time_value if a.variable == "t" else time_value

    def solve(model, x0, eps, lo, hi):
        """One band: returns (x_end, delta_logp, nfev)."""
        b = x0.shape[0]
        eps_t = torch.from_numpy(eps).float()

        def ode_func(time_value, state):
            x = torch.from_numpy(state[:-b].reshape(x0.shape)).float()
            sigma = sigma_of(time_value)
            scale = log_ratio if a.variable == "t" else 1.0 / sigma  # dx/d(time) = scale * (x - D)
            with torch.enable_grad():
                x.requires_grad_(True)
                drift = scale * (x - model(x, torch.full((b,), sigma, dtype=torch.float32)))
                grad = torch.autograd.grad(torch.sum(drift * eps_t), x)[0]
            div = torch.sum(grad * eps_t, dim=(1, 2, 3))
            return np.concatenate([drift.detach().numpy().reshape(-1), div.numpy()]).astype(np.float64)

        init = np.concatenate([x0.reshape(-1), np.zeros(b)])
        sol = integrate.solve_ivp(ode_func, (to_time(lo), to_time(hi)), init, rtol=a.rtol, atol=a.atol,
                                  method="RK45")
        if not sol.success:
            raise SystemExit("solve_ivp failed: " + sol.message)
        end = sol.y[:, -1]
        return end[:-b].reshape(x0.shape), end[-b:], sol.nfev

    def bpd_of(x0, eps):
        x, total, nfe = x0, np.zeros(x0.shape[0]), 0
        for model, lo, hi in [(low, a.sigma_min, eta), (high, eta, a.sigma_max)]:
            if hi > lo:
                x, dl, n = solve(model, x, eps, lo, hi)
                total, nfe = total + dl, nfe + n
        d = np.prod(x0.shape[1:])
        prior = -d / 2 * np.log(2 * np.pi * a.sigma_max ** 2) - np.sum(x.reshape(x.shape[0], -1) ** 2, 1) / (
            2 * a.sigma_max ** 2)
        return -(prior + total) / (d * np.log(2)) + 7.0, np.full(x0.shape[0], float(nfe))

    def run_all():
        if a.per_image:
            parts = [bpd_of(data[i:i + 1], probes[i:i + 1]) for i in range(shape[0])]
            return np.concatenate([q[0] for q in parts]), np.concatenate([q[1] for q in parts])
        return bpd_of(data, probes)

    if a.warmup:
        run_all()
    start, start_cpu = time.perf_counter(), time.process_time()
    bpd, nfe = run_all()
    elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    bpd.astype("<f8").tofile(a.out)
    nfe.astype("<f8").tofile(a.out_nfe)
    print("wall_seconds {:.6f} cpu_seconds {:.6f}".format(elapsed, elapsed_cpu))


if __name__ == "__main__":
    main()
