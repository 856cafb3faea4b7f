#!/usr/bin/python3
"""Writes the table of a switch-point sweep: one row per point, as Markdown and/or CSV.

Usage: analysis/sweep_table.py RESULTS.h5 [--markdown FILE] [--csv FILE]
  (neither option: Markdown to stdout; '-' means stdout)

Columns: point index, switch sigma eta, grid index k ('-' when the point was given as a sigma), FID
(labelled "FID (<extractor> features)" when the file records the extractor), Inception Score, bits/dim
± standard error over the test images, ELBO bits/dim ± SE, NFE per sample and per test image, status.
Marks, among finished points: the lowest FID, the lowest bits/dim, and the Pareto-optimal points, those
that no other point beats on both FID and bits/dim (non-dominated, both lower-is-better).
The CSV holds every value at full precision plus best_fid, best_bpd and pareto as 0/1.
Exit codes: 0 written; 1 bad input (missing file, no /sweep, ...).
"""
import argparse
import csv
import math
import sys

import sweep_results

CSV_COLUMNS = ("point", "switch_sigma", "switch_step", "fid", "fid_stderr", "inception_score", "n_samples", "nll_bpd",
               "nll_bpd_stderr", "elbo_bpd", "elbo_bpd_stderr", "n_test", "nll_nfe_mean", "sample_nfe_mean",
               "status", "best_fid", "best_bpd", "pareto")


def selections(r):
    done = r.done()
    best_fid = sweep_results.argmin_finite(r["fid"], done)
    best_bpd = sweep_results.argmin_finite(r["nll_bpd"], done)
    pareto = sweep_results.pareto_optimal(r["fid"], r["nll_bpd"], done)
    return best_fid, best_bpd, pareto


def fmt(value, spec):
    return "–" if not math.isfinite(value) else format(value, spec)


def pm(value, stderr, spec=".4f"):
    """'3.1234 ± 0.0100', or the value alone when there is no standard error."""
    if not math.isfinite(value):
        return "–"
    return f"{value:{spec}} ± {stderr:{spec}}" if math.isfinite(stderr) else f"{value:{spec}}"


def markdown(r):
    best_fid, best_bpd, pareto = selections(r)
    lines = []
    n_done = int(r.done().sum())
    lines.append(f"Switch-point sweep `{r.path}`: {n_done}/{len(r)} points done.")
    samples = {int(v) for v, s in zip(r["n_samples"], r.done()) if s}
    tests = {int(v) for v, s in zip(r["n_test"], r.done()) if s}
    if samples or tests:
        lines.append(f"Samples per point: {', '.join(map(str, sorted(samples))) or '–'}; "
                     f"test images: {', '.join(map(str, sorted(tests))) or '–'}.")
    lines.append("")
    header = ["point", "η (switch σ)", "k", r.fid_label, "IS", "bits/dim ± SE", "ELBO bits/dim ± SE", "NFE/sample",
              "NFE/test image", "status", "marks"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---:" if h not in ("status", "marks") else "---" for h in header) + "|")
    for i in range(len(r)):
        step = int(r["switch_step"][i])
        marks = [m for m, on in (("**best FID**", i == best_fid), ("**best bpd**", i == best_bpd),
                                 ("Pareto", i in pareto)) if on]
        row = [str(i), fmt(r["switch_sigma"][i], ".4g"), str(step) if step >= 0 else "-",
               pm(r["fid"][i], r["fid_stderr"][i], ".3f"),
               fmt(r["inception_score"][i], ".3f"),
               pm(r["nll_bpd"][i], r["nll_bpd_stderr"][i]),
               pm(r["elbo_bpd"][i], r["elbo_bpd_stderr"][i]), fmt(r["sample_nfe_mean"][i], ".1f"), fmt(r["nll_nfe_mean"][i], ".1f"),
               sweep_results.STATUS_NAMES.get(int(r["status"][i]), str(int(r["status"][i]))), ", ".join(marks)]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("η = 0: the quality expert alone; η ≥ the sampler's sigma_max: the likelihood expert alone. "
                 "Pareto: no other finished point has both a lower-or-equal FID and a lower-or-equal bits/dim "
                 "(one strictly lower). Lower is better for FID and bits/dim. FID ± is its jackknife standard "
                 "error over seed groups (sweep.fid_jackknife_groups); bits/dim ± is the standard error over test "
                 "images. Points share seeds and test images: compare two with analysis/compare_points.py (paired).")
    return "\n".join(lines) + "\n"


def write_csv(r, out):
    best_fid, best_bpd, pareto = selections(r)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i in range(len(r)):
        values = [i]
        for c in CSV_COLUMNS[1:-3]:  # the file's columns; the last three are the marks
            v = r[c][i]
            integral = c in ("switch_step", "n_samples", "n_test", "status")
            values.append(int(v) if integral and math.isfinite(v) else repr(float(v)))
        values += [int(i == best_fid), int(i == best_bpd), int(i in pareto)]
        writer.writerow(values)


def open_output(path):
    return sys.stdout if path == "-" else open(path, "w", encoding="utf-8", newline="")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", help="results file written by `switchdiff sweep`")
    parser.add_argument("--markdown", metavar="FILE", help="write the Markdown table here ('-': stdout)")
    parser.add_argument("--csv", metavar="FILE", help="write the CSV table here ('-': stdout)")
    args = parser.parse_args()
    r = sweep_results.load(args.results)
    if args.markdown is None and args.csv is None:
        args.markdown = "-"
    try:
        if args.markdown is not None:
            out = open_output(args.markdown)
            out.write(markdown(r))
            if out is not sys.stdout:
                out.close()
        if args.csv is not None:
            out = open_output(args.csv)
            write_csv(r, out)
            if out is not sys.stdout:
                out.close()
    except OSError as e:
        sweep_results.fail(f"cannot write {e.filename}: {e.strerror}")


if __name__ == "__main__":
    main()
