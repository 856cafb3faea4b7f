#!/usr/bin/python3
"""Likelihood of a VDM epsilon network computed in VDM's own coordinates, independently of switchdiff.

Run by tests/likelihood/test_vdm_references.cpp. A TorchScript `vdm` expert is called as VDM calls its network,
eps_hat(z, gamma) (Kingma et al. 2021, "Variational Diffusion Models"), on VDM's data f = (k - 127.5)/128 (VDM's
`2 * ((k + .5) / 256) - 1`); switchdiff's EDM coordinates appear nowhere here. gamma = -log SNR, alpha^2 =
sigmoid(-gamma), sigma^2 = sigmoid(gamma), z = alpha f + sigma eps.

elbo: the continuous-time loss of VDM, per image in nats, with a linear gamma(t) from gamma_0 to gamma_1:
  prior          KL(q(z_1 | f) || N(0, I)) = 1/2 sum(sigma_1^2 + alpha_1^2 f^2 - 1 - log sigma_1^2)      (VP, VDM's)
                 and the variance-exploding form of the same model, x~ = z / alpha, sigma~^2 = exp(gamma):
                 KL(N(f, sigma~_1^2 I) || N(0, sigma~_1^2 I)) = ||f||^2 / (2 exp(gamma_1))                   (VE)
                 They differ only in the prior: N(0, I) on z_1 is N(0, (1 + sigma~_1^2) I) on x~_1.
  diffusion      1/2 (gamma_1 - gamma_0) E_t ||eps - eps_hat(z_t, gamma_t)||^2 (eq. 17; gamma' = gamma_1 - gamma_0),
                 at stratified t_im = (m + u_im)/M with the caller's eps_im.
  reconstruction E_{z_0 ~ q(z_0|f)}[-log p(k | z_0)], VDM's factorized decoder
                 p(k | z_0) = softmax_k(-1/2 exp(-gamma_0) (z_0 / alpha_0 - f_k)^2) over the 256 values f_k; the
                 expectation over eps by Gauss-Hermite quadrature.
pf-ode: bits/dim by the probability-flow ODE in VDM's variance-exploding view (Song et al. 2021, the ODE of the
  VP model in x~ = z / alpha): dx~/dsigma~ = eps_hat(x~ / sqrt(1 + sigma~^2), 2 ln sigma~), solved by scipy's RK45 in
  log sigma~ with the exact divergence (torch jacobian), on i-DODE's dequantization f = 2 (k + u)/256 - 1:
  bpd = -log p(f) / (D ln 2) + 7, prior N(0, sigma~_max^2 I) (VE; the VP prior N(0, I) on z_T is reported too).

gamma_0, gamma_1 (and sigma~ range) come from the switchdiff sigma range through the expert's data_scale c:
gamma = 2 ln(c sigma), the same noise levels. Raw little-endian float64 files in and out.
"""
import argparse
import math

import numpy as np
import torch
from scipy.integrate import solve_ivp


def read(path, shape):
    return np.fromfile(path, dtype="<f8").reshape(shape)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def eps_hat(net, z, gamma):
    """z float64 [B, C, H, W], gamma float64 [B] -> float64; the network sees float32 as in switchdiff (docs/experts.md)."""
    with torch.no_grad():
        out = net(torch.from_numpy(z).to(torch.float32), torch.from_numpy(gamma).to(torch.float32))
    return out.to(torch.float64).numpy()


def decoder_nats(k_values, gamma_0, nodes=160):
    """E_eps[-log p(k | z_0)] for z_0 = alpha_0 f_k + sigma_0 eps, per k in k_values (VDM's decoder)."""
    f = (np.arange(256) - 127.5) / 128.0
    alpha_0 = math.sqrt(sigmoid(-gamma_0))
    sigma_0 = math.sqrt(sigmoid(gamma_0))
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / math.sqrt(2 * math.pi)
    out = {}
    for k in k_values:
        z_0 = alpha_0 * f[k] + sigma_0 * x  # [nodes]
        logits = -0.5 * math.exp(-gamma_0) * (z_0[:, None] / alpha_0 - f[None, :]) ** 2  # [nodes, 256]
        top = logits.max(1, keepdims=True)
        log_softmax_k = logits[:, k] - (top[:, 0] + np.log(np.exp(logits - top).sum(1)))
        out[k] = float(-(w * log_softmax_k).sum())
    return out


def elbo(args, net, c):
    b, ch, h, wd = args.shape
    d = ch * h * wd
    k = read(args.images, (b, d)).round().astype(np.int64)
    u = read(args.uniform, (b, -1))
    m = u.shape[1]
    eps = read(args.normal, (b, m, d))
    f = (k - 127.5) / 128.0
    gamma_0, gamma_1 = 2 * math.log(c * args.sigma_min), 2 * math.log(c * args.sigma_max)
    a1, s1 = sigmoid(-gamma_1), sigmoid(gamma_1)  # alpha_1^2, sigma_1^2
    prior_vp = 0.5 * (s1 + a1 * f**2 - 1 - math.log(s1)).sum(1)
    prior_ve = (f**2).sum(1) / (2 * math.exp(gamma_1))
    diffusion = np.zeros(b)
    for j in range(m):
        t = (j + u[:, j]) / m
        gamma = gamma_0 + (gamma_1 - gamma_0) * t
        z = np.sqrt(sigmoid(-gamma))[:, None] * f + np.sqrt(sigmoid(gamma))[:, None] * eps[:, j]
        e = eps_hat(net, z.reshape(b, ch, h, wd), gamma).reshape(b, d)
        diffusion += 0.5 * (gamma_1 - gamma_0) * ((eps[:, j] - e) ** 2).sum(1) / m
    table = decoder_nats(sorted(set(k.reshape(-1).tolist())), gamma_0)
    reconstruction = np.array([sum(table[v] for v in row) for row in k.tolist()])
    np.stack([prior_vp, prior_ve, diffusion, reconstruction], 1).astype("<f8").tofile(args.out)


def pf_ode(args, net, c):
    b, ch, h, wd = args.shape
    d = ch * h * wd
    k = read(args.images, (b, d))
    u = read(args.uniform, (b, d))
    f = 2 * (k + u) / 256.0 - 1  # i-DODE's uniform dequantization in VDM coordinates
    lo, hi = math.log(c * args.sigma_min), math.log(c * args.sigma_max)  # log sigma~ = gamma / 2

    def eps_and_trace(x, s):
        alpha = 1.0 / math.sqrt(1.0 + s * s)
        gamma = torch.tensor([2 * math.log(s)], dtype=torch.float32)
        z = torch.tensor(alpha * x, dtype=torch.float32).reshape(1, ch, h, wd)
        jac = torch.autograd.functional.jacobian(lambda v: net(v, gamma).reshape(-1), z).reshape(d, d)
        with torch.no_grad():
            e = net(z, gamma).reshape(-1).to(torch.float64).numpy()
        return e, alpha * float(torch.diagonal(jac).to(torch.float64).sum())

    def rhs(log_s, state):
        s = math.exp(log_s)
        e, tr = eps_and_trace(state[:d], s)
        return np.concatenate([s * e, [s * tr]])

    rows = []
    for i in range(b):
        sol = solve_ivp(rhs, (lo, hi), np.concatenate([f[i], [0.0]]), method="RK45", rtol=args.rtol, atol=args.atol)
        assert sol.success, sol.message
        x_t, integral = sol.y[:d, -1], sol.y[d, -1]
        s_t = math.exp(hi)
        prior_ve = -0.5 * (x_t**2).sum() / s_t**2 - d * math.log(s_t) - 0.5 * d * math.log(2 * math.pi)
        alpha_t = 1.0 / math.sqrt(1.0 + s_t * s_t)  # N(0, I) on z_T = alpha_T x~_T, with its Jacobian
        prior_vp = -0.5 * (alpha_t**2 * (x_t**2).sum()) + d * math.log(alpha_t) - 0.5 * d * math.log(2 * math.pi)
        rows.append([-(prior_ve + integral) / (d * math.log(2)) + 7, -(prior_vp + integral) / (d * math.log(2)) + 7,
                     float(sol.t.size)])
    np.array(rows, dtype="<f8").tofile(args.out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["elbo", "pf-ode"])
    p.add_argument("--model", required=True)
    p.add_argument("--images", required=True, help="pixel values k, float64 [B, D]")
    p.add_argument("--uniform", required=True, help="elbo: u [B, M] of the t strata; pf-ode: dequantization u [B, D]")
    p.add_argument("--normal", help="elbo: eps [B, M, D]")
    p.add_argument("--shape", type=int, nargs=4, required=True, metavar=("B", "C", "H", "W"))
    p.add_argument("--sigma-min", type=float, required=True, help="switchdiff (EDM) units; gamma = 2 ln(c sigma)")
    p.add_argument("--sigma-max", type=float, required=True)
    p.add_argument("--rtol", type=float, default=1e-7)
    p.add_argument("--atol", type=float, default=1e-7)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    torch.set_num_threads(1)
    net = torch.jit.load(args.model)
    c = float(net.data_scale)
    (elbo if args.mode == "elbo" else pf_ode)(args, net, c)


if __name__ == "__main__":
    main()
