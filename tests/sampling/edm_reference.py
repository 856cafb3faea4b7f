#!/usr/bin/python3
"""Independent reference for switchdiff's sampler: EDM's Algorithm 2 (Karras et al. 2022), written
from the paper with NVlabs edm_sampler's conventions (float64 state, float32 network input, per-seed
torch.Generator drawing float32 latents and float64 churn noise on every step).

usage: edm_reference.py OUT.bin --quality Q.pt [--likelihood L.pt --switch-sigma ETA] --seeds 0,1,2
       [--steps 18 --rho 7 --sigma-min 0.002 --sigma-max 80 --churn 0 --s-min 0 --s-max inf --s-noise 1 --euler]
Writes the final float64 states [B,C,H,W] as raw little-endian doubles.
"""
import argparse
import math

import numpy as np
import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--quality", required=True)
    p.add_argument("--likelihood")
    p.add_argument("--switch-sigma", type=float, default=0.0)
    p.add_argument("--seeds", required=True)
    p.add_argument("--steps", type=int, default=18)
    p.add_argument("--rho", type=float, default=7.0)
    p.add_argument("--sigma-min", type=float, default=0.002)
    p.add_argument("--sigma-max", type=float, default=80.0)
    p.add_argument("--churn", type=float, default=0.0)
    p.add_argument("--s-min", type=float, default=0.0)
    p.add_argument("--s-max", type=float, default=float("inf"))
    p.add_argument("--s-noise", type=float, default=1.0)
    p.add_argument("--euler", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)

    quality = torch.jit.load(a.quality)
    likelihood = torch.jit.load(a.likelihood) if a.likelihood else quality
    eta = a.switch_sigma
    shape = [int(quality.channels), int(quality.resolution), int(quality.resolution)]
    seeds = [int(s) for s in a.seeds.split(",")]
    gens = [torch.Generator().manual_seed(s) for s in seeds]

    def denoise(x, t):  # merged denoiser: sigma <= eta -> likelihood expert (the whole batch shares t)
        net = likelihood if t <= eta else quality
        sigma = torch.full([x.shape[0]], t, dtype=torch.float64).to(torch.float32)
        with torch.no_grad():
            return net(x.to(torch.float32), sigma).to(torch.float64)

    n = a.steps
    i = torch.arange(n, dtype=torch.float64)
    t = (a.sigma_max ** (1 / a.rho) + i / (n - 1) * (a.sigma_min ** (1 / a.rho) - a.sigma_max ** (1 / a.rho))) ** a.rho
    t = torch.cat([t, torch.zeros(1, dtype=torch.float64)]).tolist()

    latents = torch.stack([torch.randn(shape, generator=g) for g in gens])
    x_next = latents.to(torch.float64) * t[0]
    for k in range(n):
        t_cur, t_next = t[k], t[k + 1]
        x_cur = x_next
        gamma = min(a.churn / n, math.sqrt(2) - 1) if a.s_min <= t_cur <= a.s_max else 0.0
        t_hat = t_cur + gamma * t_cur
        x_hat = x_cur
        if a.churn > 0:
            eps = torch.stack([torch.randn(shape, generator=g, dtype=torch.float64) for g in gens])
            x_hat = x_cur + math.sqrt(t_hat ** 2 - t_cur ** 2) * a.s_noise * eps
        d_cur = (x_hat - denoise(x_hat, t_hat)) / t_hat
        x_next = x_hat + (t_next - t_hat) * d_cur
        if not a.euler and k < n - 1:
            d_prime = (x_next - denoise(x_next, t_next)) / t_next
            x_next = x_hat + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)
    x_next.numpy().astype("<f8").tofile(a.out)


if __name__ == "__main__":
    main()
