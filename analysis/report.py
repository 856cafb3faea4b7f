#!/usr/bin/python3
"""Writes the analysis report of one or more switch-point sweeps: DIR/report.html (one self-contained file,
figures embedded as data URIs, readable offline) and DIR/report.md (the same content, PNGs beside it).

Usage: analysis/report.py RESULTS.h5 [RESULTS2.h5 ...] --out DIR [--side-by-side]

Contents: the sweep table (analysis/sweep_table.py's: best FID, best bits/dim, Pareto points marked); FID and
bits/dim vs the switch sigma eta; paired differences of every finished point against each pure expert and
against the best point, and which merged points beat BOTH experts beyond 2 paired SE (the rule is in
analysis/report_stats.py and in the report); the FID-bits/dim plane; sample grids (rows = eta, columns =
the same seeds); run facts (experts and SHA-256, resolved config, git commit, world size, wall time,
network evaluations per point). Only finished points are used; the report lists the others.

Several files: files of the same experts (SHA-256), seed_base and nll_seed are overlaid in the figures.
Files of the same experts with other seeds are shown side by side (their points are not paired). Files of
different experts are refused unless --side-by-side is given; then they too are shown side by side.
Also writes DIR/report.json: the paired differences and decisions at full precision (for scripts).
Exit codes: 0 written; 1 bad input (missing or non-HDF5 file, no /sweep, no finished point, different
experts without --side-by-side) or an output folder that cannot be written.
"""
import argparse
import datetime
import json
import math
import os

import numpy as np

import report_facts
import report_figures
import report_render
import report_stats
import sweep_results
import sweep_table
from report_render import eta_text, num

ROLE_NAMES = {"quality": "quality expert", "likelihood": "likelihood expert"}


# ---------------------------------------------------------------------------------------------- reading

def read_extras(path):
    """What sweep_results.load does not read: /experts/<role> attributes and /points/<k>/images."""
    import h5py

    experts, images = {}, {}
    with h5py.File(path, "r") as f:
        for role, g in (f["experts"].items() if "experts" in f else []):
            experts[role] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in g.attrs.items()}
        for name, g in (f["points"].items() if "points" in f else []):
            if name.isdigit() and isinstance(g, h5py.Group) and "images" in g and g["images"].ndim == 4:
                images[int(name)] = np.asarray(g["images"][()], dtype=np.uint8)
    return experts, images


class Source:
    """One results file: its SweepResults, analysis, expert attributes, preview images and label."""

    def __init__(self, path, index):
        self.path = path
        self.r = sweep_results.load(path, per_image=True)
        if not self.r.done().any():
            sweep_results.fail(f"{path}: no sweep point is finished yet (status done; "
                               f"{len(self.r)} point(s) pending or partial): run `switchdiff sweep` with the same "
                               "config until at least one point is done")
        self.experts, self.images = read_extras(path)
        self.a = report_stats.analyse(self.r)
        self.index = index
        self.label = os.path.basename(path)

    def experts_key(self):
        return tuple(sorted((role, str(e.get("sha256", "?"))) for role, e in self.experts.items()))

    def seeds_key(self):
        return (self.r.root_attrs.get("seed_base"), self.r.root_attrs.get("nll_seed"))


def group_sources(sources, side_by_side):
    """[[Source]] (one list per overlay group) and the sentence that says why."""
    experts = {}
    for s in sources:
        experts.setdefault(s.experts_key(), []).append(s)
    if len(experts) > 1 and not side_by_side:
        lines = "; ".join(", ".join(s.path for s in group) + ": " +
                          ", ".join(f"{role} {sha[:12]}" for role, sha in key) for key, group in experts.items())
        sweep_results.fail(f"the files are sweeps of different experts ({lines}); their points cannot be compared. "
                           "Give files of one pair of experts, or pass --side-by-side to show them next to each other")
    groups = {}
    for s in sources:
        groups.setdefault((s.experts_key(), s.seeds_key()), []).append(s)
    groups = list(groups.values())
    if len(sources) == 1:
        why = "One results file."
    elif len(groups) == 1:
        why = (f"{len(sources)} results files of the same experts (SHA-256), seed_base and nll_seed: overlaid in "
               "the figures. Paired differences are taken within each file.")
    elif len(experts) > 1:
        why = (f"{len(sources)} results files of {len(experts)} different pairs of experts (SHA-256), shown side by "
               "side as asked (--side-by-side): points of different experts are not comparable.")
    else:
        why = (f"{len(sources)} results files of the same experts but {len(groups)} different seed settings "
               "(seed_base, nll_seed): shown side by side, since their samples and test-image probes differ and "
               "points are not paired across them.")
    return groups, why


# ---------------------------------------------------------------------------------------------- content
# The report is a list of blocks, rendered once as HTML and once as Markdown so that both say the same:
# ("h1"|"h2"|"h3"|"p", text), ("ul", [text]), ("table", header, rows), ("figures", [(file, caption)]),
# ("pre", summary, text). Text may hold **bold** and `code`.

def diff_text(d, spec):
    if d is None:
        return "(itself)"
    if math.isnan(d["diff"]):
        return "–"
    se = "–" if math.isnan(d["se"]) else format(d["se"], spec)
    z = "" if math.isnan(d["z"]) else (" (0 SE)" if d["z"] == 0 else f" ({d['z']:+.1f} SE)")
    return f"{d['diff']:+{spec}} ± {se}{z}"


def role(s, k):
    for ref in ("quality", "likelihood"):
        if s.a["experts"][ref] == k:
            return ROLE_NAMES[ref]
    return "merged"


def verdict(s, metric, name):
    """The headline sentence for one metric of one file."""
    winners = [k for k, b in s.a["beats"].items() if b.get(metric)]
    undecided = [k for k, b in s.a["beats"].items() if b.get(metric) is None]
    r = s.r

    def margin(k):
        d = s.a["diffs"][k]
        return (d["quality"][metric], d["likelihood"][metric])

    if winners:
        parts = []
        for k in sorted(winners, key=lambda k: max(v["z"] for v in margin(k))):
            q, lk = margin(k)
            parts.append(f"point {k} (η={eta_text(r, k)}): {diff_text(q, '.4g')} vs the quality expert, "
                         f"{diff_text(lk, '.4g')} vs the likelihood expert")
        top = min(winners, key=lambda k: max(v["z"] for v in margin(k)))
        return (f"**{name}: {len(winners)} merged point(s) beat both experts; the strongest is point {top} "
                f"(η={eta_text(r, top)}), at least {-max(v['z'] for v in margin(top)):.1f} paired SE better than each "
                "expert** — " + "; ".join(parts) + ".")
    merged = [k for k in s.a["beats"] if k not in undecided]
    if not merged:
        return (f"**{name}: undecided** — " + ("no merged point is finished" if not s.a["beats"] else
                "a pure-expert point or the paired data is missing (see the experts line above)") + ".")
    best = min(merged, key=lambda k: max(v["z"] for v in margin(k)))
    q, lk = margin(best)
    return (f"**{name}: no merged point beats both experts** beyond {report_stats.Z:g} paired SE. Closest: point "
            f"{best} (η={eta_text(r, best)}), {diff_text(q, '.4g')} vs the quality expert, {diff_text(lk, '.4g')} "
            "vs the likelihood expert.")


def table_blocks(s):
    """sweep_table.py's Markdown table as blocks (its rows verbatim)."""
    blocks, header, rows, paragraph = [], None, [], []
    for line in sweep_table.markdown(s.r).splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not all(set(c) <= set("-:") for c in cells):
                rows.append(cells)
        elif line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            blocks.append(("p", " ".join(paragraph)))
            paragraph = []
        if header is not None and not line.startswith("|") and rows:
            blocks.append(("table", header, rows))
            header, rows = None, []
    if header is not None:
        blocks.append(("table", header, rows))
    if paragraph:
        blocks.append(("p", " ".join(paragraph)))
    return blocks


def comparison_blocks(s):
    r, a = s.r, s.a
    ex = a["experts"]
    blocks = []
    lines = []
    for ref in ("quality", "likelihood"):
        k = ex[ref]
        if k is None:
            want = "η = 0 or η < sigma_min" if ref == "quality" else "η ≥ sigma_max"
            lines.append(f"{ROLE_NAMES[ref]}: **no finished point with {want}** "
                         f"(sampler sigma range [{ex['sigma_min']:g}, {ex['sigma_max']:g}], {ex['source']}): "
                         "comparisons against it, and the beats-both rule, are undecided")
        else:
            lines.append(f"{ROLE_NAMES[ref]} alone: point {k} (η={eta_text(r, k)})")
    blocks.append(("ul", lines + [f"sampler sigma range [{ex['sigma_min']:g}, {ex['sigma_max']:g}] ({ex['source']})"]))
    blocks.append(("p", f"**Rule.** A merged point (neither pure expert) beats both experts on a metric when its "
                   f"paired difference (point − expert, lower is better) is below −{report_stats.Z:g} paired "
                   "standard errors against the quality expert AND against the likelihood expert. The paper's claim "
                   "holds on a metric when at least one merged point does; it is decided separately for FID and "
                   "for PF-ODE bits/dim (and shown for the ELBO)."))
    blocks.append(("ul", [verdict(s, "fid", "FID"), verdict(s, "nll_bpd", "bits/dim (PF-ODE)"),
                          verdict(s, "elbo_bpd", "ELBO bits/dim")]))
    both = [k for k, b in a["beats"].items() if b.get("fid") and b.get("nll_bpd")]
    blocks.append(("p", "Beats both experts on FID **and** bits/dim: " +
                   (", ".join(f"point {k} (η={eta_text(r, k)})" for k in both) if both else "**none**") + "."))
    for metric, name, spec in (("fid", r.fid_label, ".4g"), ("nll_bpd", "bits/dim (PF-ODE)", ".4f"),
                               ("elbo_bpd", "ELBO bits/dim", ".4f")):
        best = a["best"][metric]
        if best is None:
            continue
        header = ["point", "η", "role", name, "− quality expert", "− likelihood expert",
                  f"− best (point {best})", "beats both experts"]
        rows = []
        for k in sorted(a["done"], key=lambda k: (r["switch_sigma"][k], k)):
            d = a["diffs"][k]
            b = a["beats"].get(k, {}).get(metric, "expert")
            mark = {True: "**yes**", False: "no", None: "undecided", "expert": "–"}[b]
            rows.append([str(k), eta_text(r, k), role(s, k), num(r[metric][k], spec),
                         diff_text(d["quality"][metric], spec) if "quality" in d else "–",
                         diff_text(d["likelihood"][metric], spec) if "likelihood" in d else "–",
                         diff_text(d["best"].get(metric), spec), mark])
        blocks.append(("h3", f"Paired differences: {name}"))
        blocks.append(("table", header, rows))
    blocks.append(("p", "Entries: difference ± paired SE (difference / SE). Bits/dim: per-image differences on the "
                   "same test images, SE = std(d)/√n. FID: the difference of the full-sample FIDs, SE from the "
                   "delete-a-group jackknife of the paired leave-one-group-out differences, "
                   "SE = √((G−1)/G · Σ_g (d_g − mean d)²), d_g = FID_point(−g) − FID_ref(−g). "
                   "“best” is the finished point with the lowest value of that column."))
    return blocks


def missing_text(s):
    r = s.r
    missing = s.a["missing"]
    if not missing:
        return f"All {len(r)} points are done."
    names = sweep_results.STATUS_NAMES
    listed = ", ".join(f"point {k} (η={eta_text(r, k)}, {names.get(int(r['status'][k]), '?')})" for k in missing)
    return (f"**{len(missing)} of {len(r)} points are not finished and are left out of every figure and "
            f"comparison:** {listed}.")


def build(groups, why, out):
    """Writes the figures into `out`; returns the blocks."""
    sources = [s for g in groups for s in g]
    blocks = [("h1", "Switch-point sweep report"),
              ("p", f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by "
               f"analysis/report.py from {', '.join('`' + s.path + '`' for s in sources)}. {why}"),
              ("h2", "Summary")]
    for s in sources:
        prefix = f"{s.label}: " if len(sources) > 1 else ""
        blocks.append(("p", prefix + missing_text(s)))
        blocks.append(("ul", [verdict(s, "fid", "FID"), verdict(s, "nll_bpd", "bits/dim (PF-ODE)")]))
    series = [[{"r": s.r, "a": s.a, "label": s.label} for s in g] for g in groups]
    single = len(groups) == 1

    def figure(kind, plot, caption):
        figs = []
        for gi, ser in enumerate(series):
            name = f"{kind}.png" if single else f"{kind}_set{gi + 1}.png"
            plot(ser, os.path.join(out, name))
            figs.append((name, caption if single else f"set {gi + 1} ({', '.join(x['label'] for x in ser)}): "
                         + caption))
        return ("figures", figs)

    blocks.append(("h2", "Metrics vs switch point"))
    blocks.append(figure("fid_vs_eta", report_figures.plot_fid_vs_eta,
                         "FID vs η, error bars ± one jackknife SE over seed groups (unpaired)."))
    blocks.append(figure("bpd_vs_eta", report_figures.plot_bpd_vs_eta,
                         "Bits/dim vs η: PF-ODE (filled) and ELBO (open, drawn slightly to the right), ± one SE "
                         "over test images (unpaired)."))
    blocks.append(("h2", "Paired differences against the experts"))
    blocks.append(figure("paired_vs_eta", report_figures.plot_paired_vs_eta,
                         "Point − expert, error bars ± 2 paired SE: a merged point beats an expert where its bar "
                         "lies entirely below 0, and beats both where both its bars do."))
    for s in sources:
        if len(sources) > 1:
            blocks.append(("h3", s.label))
        blocks += comparison_blocks(s)
    blocks.append(("h2", "Quality–likelihood plane"))
    blocks.append(figure("plane", report_figures.plot_plane,
                         "FID vs PF-ODE bits/dim; stars: the pure experts; ringed and joined by a dashed line: the "
                         "Pareto-optimal points. Error bars: "
                         "FID ± paired SE vs the quality expert, bits/dim ± paired SE vs the likelihood expert (the "
                         "comparisons a merged point must win); dotted lines: those experts' values."))
    blocks.append(("h2", "Sweep table"))
    for s in sources:
        if len(sources) > 1:
            blocks.append(("h3", s.label))
        blocks += table_blocks(s)
    blocks.append(("h2", "Samples"))
    for s in sources:
        rows = sorted((k for k in s.a["done"] if k in s.images and len(s.images[k])),
                      key=lambda k: (s.r["switch_sigma"][k], k))
        shape = s.images[rows[0]].shape[1:] if rows else None
        rows = [k for k in rows if s.images[k].shape[1:] == shape]
        label = f"{s.label}: " if len(sources) > 1 else ""
        if not rows:
            blocks.append(("p", label + "no preview images stored (/points/<k>/images; sweep.preview_images)."))
            continue
        name = f"samples_{s.index + 1}.png" if len(sources) > 1 else "samples.png"
        report_figures.plot_sample_grid(s.r, rows, s.images, os.path.join(out, name))
        blocks.append(("figures", [(name, label + f"rows: η ascending; columns: the same seeds at every η "
                                    f"(seed_base = {s.r.root_attrs.get('seed_base', '?')}); {shape[0]} channel(s), "
                                    f"{shape[1]}×{shape[2]} pixels.")]))
    blocks.append(("h2", "Run facts"))
    for s in sources:
        if len(sources) > 1:
            blocks.append(("h3", s.label))
        blocks += report_facts.facts_blocks(s)
    return blocks


def numbers(sources):
    """The report's statistics at full precision, for scripts (report.json; NaN where undefined)."""
    out = []
    for s in sources:
        a = s.a
        out.append({"path": s.path, "done": a["done"], "missing": a["missing"],
                    "experts": {k: v for k, v in a["experts"].items()}, "best": a["best"],
                    "diffs": {str(k): {ref: {m: d for m, d in v.items()} for ref, v in refs.items()}
                              for k, refs in a["diffs"].items()},
                    "beats_both": {str(k): v for k, v in a["beats"].items()}})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", help="results file(s) written by `switchdiff sweep`")
    parser.add_argument("--out", metavar="DIR", required=True, help="folder for report.html, report.md and the PNGs")
    parser.add_argument("--side-by-side", action="store_true",
                        help="allow files of different experts; they are shown side by side, never overlaid")
    args = parser.parse_args()
    if len(set(map(os.path.realpath, args.results))) != len(args.results):
        sweep_results.fail("the same results file is given twice")
    sources = [Source(p, i) for i, p in enumerate(args.results)]
    labels = [s.label for s in sources]
    for s in sources:
        if labels.count(s.label) > 1:
            s.label = f"{s.index + 1}:{s.label}"
    groups, why = group_sources(sources, args.side_by_side)
    try:
        os.makedirs(args.out, exist_ok=True)
        blocks = build(groups, why, args.out)
        with open(os.path.join(args.out, "report.md"), "w", encoding="utf-8") as f:
            f.write(report_render.render_markdown(blocks))
        with open(os.path.join(args.out, "report.html"), "w", encoding="utf-8") as f:
            f.write(report_render.render_html(blocks, args.out))
        with open(os.path.join(args.out, "report.json"), "w", encoding="utf-8") as f:
            json.dump(numbers(sources), f, indent=1)
    except OSError as e:
        sweep_results.fail(f"cannot write the report into {args.out}: {e.strerror} ({e.filename})")
    print(os.path.join(args.out, "report.html"))


if __name__ == "__main__":
    main()
