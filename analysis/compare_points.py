#!/usr/bin/python3
"""Paired comparison of the bits/dim of two sweep points on the same test images.

Usage: analysis/compare_points.py RESULTS.h5 A B [--json]
  A, B: point indices (rows of /sweep, 0-based; `analysis/sweep_table.py` lists them).

Every point measures bits/dim on the same test images (the first nll.count of nll.dataset, with the same
dequantization and probe seeds per image), so the per-image values in /points/<k>/nll_bpd_per_image are
paired. The difference d_j = bpd_A[j] - bpd_B[j] has mean  mean(d)  and standard error
    SE_paired = std(d, ddof=1) / sqrt(n),
which is much smaller than the unpaired sqrt(SE_A^2 + SE_B^2) when the two points agree on which
images are hard (they usually do: correlation near 1). t = mean(d) / SE_paired, two-sided p from the
Student t distribution with n-1 degrees of freedom (scipy; a normal approximation without it).
The same is done for the ELBO when both points have /points/<k>/elbo_bpd_per_image.
Exit codes: 0 printed; 1 bad input (missing file, no /sweep, unknown or unfinished point, unpaired data).
"""
import argparse
import json
import math

import numpy as np

import sweep_results


def two_sided_p(t, dof):
    """(p, how): Student t with dof degrees of freedom (scipy), else the normal approximation."""
    if math.isnan(t):
        return float("nan"), "-"
    try:
        from scipy import stats
        return float(2 * stats.t.sf(abs(t), dof)), f"t, {dof} degrees of freedom"
    except ImportError:
        return math.erfc(abs(t) / math.sqrt(2)), "normal approximation"


def paired(a, b):
    """Statistics of d = a - b (paired by index) and of a, b alone."""
    d = a - b
    n = len(d)
    se = lambda x: float(np.std(x, ddof=1) / math.sqrt(n)) if n > 1 else float("nan")  # noqa: E731
    se_paired = se(d)
    mean = float(np.mean(d))
    t = mean / se_paired if se_paired > 0 else (0.0 if mean == 0 else math.copysign(math.inf, mean))
    p, how = two_sided_p(t, n - 1) if n > 1 else (float("nan"), "-")
    corr = float(np.corrcoef(a, b)[0, 1]) if n > 1 and np.std(a) > 0 and np.std(b) > 0 else float("nan")
    return {"n": n, "mean_a": float(np.mean(a)), "mean_b": float(np.mean(b)), "se_a": se(a), "se_b": se(b),
            "mean_diff": mean, "se_paired": se_paired, "se_unpaired": math.sqrt(se(a) ** 2 + se(b) ** 2),
            "correlation": corr, "t": t, "p_two_sided": p, "p_method": how}


def per_image(r, k, name):
    if k < 0 or k >= len(r):
        sweep_results.fail(f"{r.path}: point {k} does not exist; this sweep has points 0..{len(r) - 1}")
    if not r.done()[k]:
        status = sweep_results.STATUS_NAMES.get(int(r["status"][k]), "?")
        sweep_results.fail(f"{r.path}: point {k} (eta = {r['switch_sigma'][k]:g}) is {status}, not done; finish "
                           "the sweep (`switchdiff sweep` with the same config) before comparing")
    values = r.points.get(k, {}).get(name)
    if values is None and name == "nll_bpd_per_image":
        sweep_results.fail(f"{r.path}: /points/{k}/nll_bpd_per_image is missing (was nll.dataset set for this "
                           "sweep?); per-image bits/dim are needed for a paired comparison")
    return values


def describe(label, s, a, b):
    return (f"{label}: point {a} {s['mean_a']:.6f} ± {s['se_a']:.6f}, point {b} {s['mean_b']:.6f} ± {s['se_b']:.6f}"
            f" (n = {s['n']} test images)\n"
            f"  difference A - B = {s['mean_diff']:+.6f} ± {s['se_paired']:.6f} (paired SE; unpaired would be "
            f"± {s['se_unpaired']:.6f}), correlation {s['correlation']:.4f}\n"
            f"  t = {s['t']:.3f}, two-sided p = {s['p_two_sided']:.3g} ({s['p_method']})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", help="results file written by `switchdiff sweep`")
    parser.add_argument("a", type=int, help="first point index")
    parser.add_argument("b", type=int, help="second point index")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args()
    r = sweep_results.load(args.results, per_image=True)
    out = {"results": args.results, "a": args.a, "b": args.b, "eta_a": float(r["switch_sigma"][args.a])
           if 0 <= args.a < len(r) else None, "eta_b": float(r["switch_sigma"][args.b]) if 0 <= args.b < len(r)
           else None}
    for key, name in (("nll_bpd", "nll_bpd_per_image"), ("elbo_bpd", "elbo_bpd_per_image")):
        a, b = per_image(r, args.a, name), per_image(r, args.b, name)
        if a is None or b is None:
            continue
        if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
            sweep_results.fail(f"{args.results}: /points/{args.a}/{name} has shape {a.shape} and /points/{args.b}/"
                               f"{name} {b.shape}: not paired (were the points measured on different nll.count?)")
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            sweep_results.fail(f"{args.results}: /points/{args.a} or /points/{args.b} {name} holds non-finite values")
        out[key] = paired(a, b)
    fid_a, fid_b = per_image(r, args.a, "fid_leave_one_out"), per_image(r, args.b, "fid_leave_one_out")
    if fid_a is not None and fid_b is not None and fid_a.shape == fid_b.shape and len(fid_a) >= 2:
        # Same seeds, same seed groups: the jackknife of the difference is paired (metrics/fid_jackknife.h).
        d = fid_a - fid_b
        g = len(d)
        out["fid"] = {"a": float(r["fid"][args.a]), "b": float(r["fid"][args.b]),
                      "diff": float(r["fid"][args.a] - r["fid"][args.b]),
                      "se_paired": float(np.sqrt((g - 1) / g * ((d - d.mean()) ** 2).sum())), "groups": g}
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"{args.results}: point A = {args.a} (eta = {out['eta_a']:g}) vs point B = {args.b} "
          f"(eta = {out['eta_b']:g}), same test images")
    print(describe("bits/dim (PF-ODE)", out["nll_bpd"], args.a, args.b))
    if "fid" in out:
        f = out["fid"]
        print(f"{r.fid_label}: point {args.a} {f['a']:.4f}, point {args.b} {f['b']:.4f}\n"
              f"  difference A - B = {f['diff']:+.4f} ± {f['se_paired']:.4f} (paired jackknife SE, {f['groups']} "
              "seed groups)")
    if "elbo_bpd" in out:
        print(describe("ELBO bits/dim", out["elbo_bpd"], args.a, args.b))


if __name__ == "__main__":
    main()
