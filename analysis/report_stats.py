"""The numbers behind analysis/report.py: which points are the pure experts, paired differences of every
finished point against them and against the best point, and the "beats both experts" decision.

Pure experts (read from the stored config's [sampler] sigma range):
  quality alone     the finished point with the smallest eta, when eta = 0 or eta < sampler sigma_min;
  likelihood alone  the finished point with the largest eta, when eta >= sampler sigma_max.
Paired differences A - B (lower is better for both metrics, so negative means A is better):
  bits/dim  d_j = bpd_A[j] - bpd_B[j] over the same test images, SE = std(d, ddof=1) / sqrt(n);
  FID       FID_A - FID_B, SE = sqrt((G-1)/G * sum_g (d_g - mean d)^2) with d_g = FID_A(-g) - FID_B(-g), the
            leave-one-seed-group-out FIDs of both points (same seeds and groups at every point).
Rule: a merged point (neither pure expert) beats both experts on a metric when its paired difference
against each expert is below -2 paired SE.
"""
import configparser
import math

import numpy as np

import sweep_results

Z = 2.0  # the margin of the rule, in paired standard errors
METRICS = (("fid", "FID"), ("nll_bpd", "bits/dim (PF-ODE)"), ("elbo_bpd", "ELBO bits/dim"))
PER_POINT = {"nll_bpd": "nll_bpd_per_image", "elbo_bpd": "elbo_bpd_per_image", "fid": "fid_leave_one_out"}


def config_sections(text):
    """The stored INI text as {section: {key: value}} (inline ; and # comments dropped); {} when unreadable."""
    parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), interpolation=None, strict=False)
    try:
        parser.read_string(text or "")
    except configparser.Error:
        return {}
    return {s: dict(parser[s]) for s in parser.sections()}


def sampler_sigma_range(r):
    """(sigma_min, sigma_max, where from): the sampler's range from the stored config, else EDM's defaults."""
    sampler = config_sections(r.root_attrs.get("config", "")).get("sampler", {})
    try:
        return float(sampler["sigma_min"]), float(sampler["sigma_max"]), "config [sampler]"
    except (KeyError, ValueError):
        return 0.002, 80.0, "not in the stored config: EDM defaults assumed"


def pure_experts(r):
    """{"quality": k or None, "likelihood": k or None} among finished points, and the sigma range used."""
    lo, hi, source = sampler_sigma_range(r)
    done = [k for k in range(len(r)) if r.done()[k]]
    eta = r["switch_sigma"]
    quality = min(done, key=lambda k: (eta[k], k)) if done else None
    likelihood = max(done, key=lambda k: (eta[k], -k)) if done else None
    if quality is not None and not (eta[quality] == 0 or eta[quality] < lo):
        quality = None
    if likelihood is not None and not eta[likelihood] >= hi:
        likelihood = None
    return {"quality": quality, "likelihood": likelihood, "sigma_min": lo, "sigma_max": hi, "source": source}


def paired_bpd(a, b):
    """(mean of a - b, paired SE, n) for per-image values; NaNs when not paired."""
    if a is None or b is None or a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        return math.nan, math.nan, 0
    d = a - b
    return float(d.mean()), float(np.std(d, ddof=1) / math.sqrt(len(d))), len(d)


def paired_fid(fid_a, fid_b, loo_a, loo_b):
    """(FID_a - FID_b, paired jackknife SE, G)."""
    diff = float(fid_a - fid_b)
    if loo_a is None or loo_b is None or loo_a.shape != loo_b.shape or loo_a.ndim != 1 or len(loo_a) < 2:
        return diff, math.nan, 0
    d = loo_a - loo_b
    g = len(d)
    return diff, float(math.sqrt((g - 1) / g * float(((d - d.mean()) ** 2).sum()))), g


def difference(r, a, b, metric):
    """{"diff", "se", "n", "z"} of point a minus point b on metric (one of METRICS); None when a == b."""
    if a == b:
        return None  # a point against itself
    pa, pb = r.points.get(a, {}), r.points.get(b, {})
    key = PER_POINT[metric]
    if metric == "fid":
        diff, se, n = paired_fid(r["fid"][a], r["fid"][b], pa.get(key), pb.get(key))
    else:
        diff, se, n = paired_bpd(pa.get(key), pb.get(key))
    if math.isnan(diff) or math.isnan(se):
        z = math.nan
    elif se > 0:
        z = diff / se
    else:
        z = 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return {"diff": diff, "se": se, "n": n, "z": z}


def analyse(r):
    """Everything the report states about one file's finished points.

    Returns {"done", "missing", "experts", "best" {metric: k}, "diffs" {k: {ref: {metric: difference}}},
    "beats" {k: {metric: True/False/None}}}; references are "quality", "likelihood", "best"; None means
    undecided (an expert point or a paired SE is missing)."""
    done = [k for k in range(len(r)) if r.done()[k]]
    missing = [k for k in range(len(r)) if not r.done()[k]]
    experts = pure_experts(r)
    best = {m: sweep_results.argmin_finite(r[m], r.done()) for m, _ in METRICS}
    diffs, beats = {}, {}
    for k in done:
        diffs[k] = {}
        for ref in ("quality", "likelihood"):
            if experts[ref] is not None:
                diffs[k][ref] = {m: difference(r, k, experts[ref], m) for m, _ in METRICS}
        diffs[k]["best"] = {m: difference(r, k, best[m], m) for m, _ in METRICS if best[m] is not None}
        if k in (experts["quality"], experts["likelihood"]):
            continue
        beats[k] = {}
        for m, _ in METRICS:
            zs = [diffs[k][ref][m]["z"] for ref in ("quality", "likelihood") if ref in diffs[k]]
            if len(zs) < 2 or any(math.isnan(z) for z in zs):
                beats[k][m] = None
            else:
                beats[k][m] = all(z < -Z for z in zs)
    return {"done": done, "missing": missing, "experts": experts, "best": best, "diffs": diffs, "beats": beats}
