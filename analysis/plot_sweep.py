#!/usr/bin/python3
"""Plots a switch-point sweep: FID and bits/dim against the switch sigma eta, and the FID-bits/dim trade-off.

Usage: analysis/plot_sweep.py RESULTS.h5 [--out PREFIX] [--formats png,pdf]
Writes PREFIX_vs_eta.<fmt> (two panels, log-x: FID vs eta; bits/dim ± SE vs eta) and
PREFIX_tradeoff.<fmt> (bits/dim vs FID, points joined in eta order and labelled by eta, Pareto-optimal
points ringed). PREFIX defaults to RESULTS without .h5. Only finished points are drawn.
eta = 0 (the quality expert alone) has no place on a log axis: it is drawn one decade left of the
smallest positive eta, at a tick labelled "0", behind a break in the axis line.
Exit codes: 0 written; 1 bad input (missing file, no /sweep, no finished point).
"""
import argparse
import math
import os

import matplotlib

matplotlib.use("Agg")  # files only: no display on cluster nodes
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402

import sweep_results  # noqa: E402


def eta_positions(eta):
    """x positions on the log axis: eta itself, or one decade below the smallest positive eta for eta = 0."""
    positive = eta[eta > 0]
    zero_x = (positive.min() if positive.size else 1.0) / 10
    return np.where(eta > 0, eta, zero_x), zero_x


def eta_label(e):
    return "0" if e == 0 else f"{e:.3g}"


def plot_vs_eta(r, rows, path):
    eta = r["switch_sigma"][rows]
    x, zero_x = eta_positions(eta)
    fig, (ax_fid, ax_bpd) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    series = ((ax_fid, r["fid"][rows], None, r.fid_label, "tab:blue"),
              (ax_bpd, r["nll_bpd"][rows], r["nll_bpd_stderr"][rows], "bits/dim (PF-ODE) ± SE", "tab:red"))
    for ax, y, err, label, color in series:
        ok = np.isfinite(y)
        order = np.argsort(x[ok])
        ax.errorbar(x[ok][order], y[ok][order], yerr=None if err is None else err[ok][order], marker="o",
                    color=color, capsize=3)
        if err is not None and np.isfinite(r["elbo_bpd"][rows]).any():
            elbo = r["elbo_bpd"][rows]
            e_ok = np.isfinite(elbo)
            e_order = np.argsort(x[e_ok])
            ax.plot(x[e_ok][e_order], elbo[e_ok][e_order], marker="s", linestyle="--", color="gray",
                    label="ELBO bits/dim")
            ax.legend(loc="best", fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("switch sigma η (quality expert above, likelihood expert below)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        if (eta == 0).any():
            ticks = [t for t in ax.get_xticks() if t > zero_x * 3]
            ax.set_xticks([zero_x] + ticks)
            ax.set_xticklabels(["0"] + [f"{t:g}" for t in ticks])
            ax.set_xlim(zero_x / 2, max(x.max() * 2, zero_x * 4))
            ax.axvline(math.sqrt(zero_x * ax.get_xticks()[1]) if len(ticks) else zero_x * 3, color="k",
                       linestyle=":", linewidth=0.8)  # the axis break: eta = 0 is not on the log scale
    ax_fid.set_title(f"{r.fid_label} vs switch sigma")
    ax_bpd.set_title("bits/dim vs switch sigma")
    fig.savefig(path)
    plt.close(fig)


def plot_tradeoff(r, rows, path):
    fid, bpd, se = r["fid"][rows], r["nll_bpd"][rows], r["nll_bpd_stderr"][rows]
    eta = r["switch_sigma"][rows]
    ok = np.isfinite(fid) & np.isfinite(bpd)
    if not ok.any():
        sweep_results.fail(f"{r.path}: no finished point has both FID and bits/dim: nothing to trade off")
    mask = np.zeros(len(r), dtype=bool)
    mask[rows] = True
    pareto = sweep_results.pareto_optimal(r["fid"], r["nll_bpd"], mask)
    order = np.argsort(eta[ok])
    fig, ax = plt.subplots(figsize=(6, 5), constrained_layout=True)
    ax.errorbar(fid[ok][order], bpd[ok][order], yerr=se[ok][order], marker="o", color="tab:purple", capsize=3,
                label="sweep points (joined in η order)")
    front = [i for i in rows if i in pareto]
    ax.scatter(r["fid"][front], r["nll_bpd"][front], s=160, facecolors="none", edgecolors="k",
               label="Pareto-optimal")
    for f, b, e in zip(fid[ok], bpd[ok], eta[ok]):
        ax.annotate(f"η={eta_label(e)}", (f, b), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xlabel(f"{r.fid_label} (lower is better)")
    ax.set_ylabel("bits/dim (lower is better)")
    ax.set_title("Sample quality vs likelihood across switch points")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.savefig(path)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", help="results file written by `switchdiff sweep`")
    parser.add_argument("--out", metavar="PREFIX", help="output file prefix (default: RESULTS without .h5)")
    parser.add_argument("--formats", default="png", help="comma-separated: png, pdf, svg (default png)")
    args = parser.parse_args()
    r = sweep_results.load(args.results)
    formats = [f.strip().lower() for f in args.formats.split(",") if f.strip()]
    for f in formats:
        if f not in ("png", "pdf", "svg"):
            sweep_results.fail(f"--formats: '{f}' is not one of png, pdf, svg")
    rows = [i for i in range(len(r)) if r.done()[i]]
    if not rows:
        sweep_results.fail(f"{args.results}: no sweep point is finished yet (status done); run `switchdiff sweep` "
                           "to completion first")
    prefix = args.out or os.path.splitext(args.results)[0]
    if os.path.dirname(prefix):
        os.makedirs(os.path.dirname(prefix), exist_ok=True)
    written = []
    for f in formats:
        for name, plot in (("vs_eta", plot_vs_eta), ("tradeoff", plot_tradeoff)):
            path = f"{prefix}_{name}.{f}"
            plot(r, rows, path)
            written.append(path)
    skipped = len(r) - len(rows)
    print("wrote " + ", ".join(written) + (f" ({skipped} unfinished point(s) left out)" if skipped else ""))


if __name__ == "__main__":
    main()
