"""Figures of analysis/report.py, PNG at a fixed size (FIGURE_PIXELS) so that a reader and the tests know
what to expect. Every plotting function takes a list of series, one per results file drawn on the same
axes (files of the same experts and seeds are overlaid), each a dict with the SweepResults `r`, its
analysis `a` (report_stats.analyse) and a `label`.

The eta axis is symlog: linear below the sampler's sigma_min (where eta = 0 lies, the quality expert alone),
logarithmic above, so that eta = 0 and eta = 80 both show.
"""
import math

import matplotlib

matplotlib.use("Agg")  # files only: no display on cluster nodes
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402

import report_stats  # noqa: E402

DPI = 120
SIZES = {"fid_vs_eta": (7.5, 4.5), "bpd_vs_eta": (7.5, 4.5), "paired_vs_eta": (11.0, 4.5), "plane": (7.5, 6.0)}
FIGURE_PIXELS = {name: (round(w * DPI), round(h * DPI)) for name, (w, h) in SIZES.items()}
GRID_WIDTH_IN = 9.0
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown")
MARKERS = ("o", "s", "D", "^", "v")

plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9,
                     "xtick.labelsize": 10, "ytick.labelsize": 10, "savefig.dpi": DPI})


def eta_label(e):
    return "0" if e == 0 else f"{e:.3g}"


def setup_eta_axis(ax, series):
    """symlog x axis, linear up to the sampler's sigma_min, with the pure-expert regions shaded."""
    lo = min(s["a"]["experts"]["sigma_min"] for s in series)
    hi = max(s["a"]["experts"]["sigma_max"] for s in series)
    etas = np.concatenate([s["r"]["switch_sigma"][s["a"]["done"]] for s in series])
    ax.set_xscale("symlog", linthresh=lo, linscale=0.6)
    right = max(hi, etas.max()) * 2.5
    ax.set_xlim(-lo * 0.3, right)
    decades = [10.0 ** p for p in range(math.ceil(math.log10(lo * 1.01)), math.floor(math.log10(right)) + 1)]
    ax.set_xticks([0.0] + decades)
    ax.set_xticklabels(["0"] + [f"{t:g}" for t in decades])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.axvspan(-lo, lo, color="tab:blue", alpha=0.07, lw=0)
    ax.axvspan(hi, right, color="tab:red", alpha=0.07, lw=0)
    ax.axvline(lo, color="gray", lw=0.6, ls=":")
    ax.axvline(hi, color="gray", lw=0.6, ls=":")
    ax.set_xlabel("switch sigma η (symlog axis; blue: quality expert alone, red: likelihood expert alone)",
                  fontsize=9.5)
    ax.grid(True, which="major", alpha=0.3)


def _rows(s, metric):
    done = s["a"]["done"]
    r = s["r"]
    eta = r["switch_sigma"][done]
    order = np.argsort(eta, kind="stable")
    return np.asarray(done)[order], eta[order]


def _shift(eta, i, n, series):
    """eta moved a little (multiplicatively, and by a fraction of sigma_min at eta = 0) so that overlaid
    series' error bars do not hide each other."""
    f = 0.06 * (i - (n - 1) / 2)
    lo = min(s["a"]["experts"]["sigma_min"] for s in series)
    return eta * (1.0 + f) + np.where(eta == 0, 3 * f * lo, 0.0)


def plot_fid_vs_eta(series, path):
    fig, ax = plt.subplots(figsize=SIZES["fid_vs_eta"], constrained_layout=True)
    setup_eta_axis(ax, series)
    for i, s in enumerate(series):
        rows, eta = _rows(s, "fid")
        r = s["r"]
        ax.errorbar(_shift(eta, i, len(series), series), r["fid"][rows], yerr=np.nan_to_num(r["fid_stderr"][rows]),
                    marker=MARKERS[i % 5], color=COLORS[i % 5], capsize=3, label=s["label"])
    ax.set_ylabel(f"{series[0]['r'].fid_label}\n(± jackknife SE over seed groups)")
    ax.set_title("Sample quality vs switch point (lower is better)")
    if len(series) > 1:
        ax.legend(loc="best")
    fig.savefig(path)
    plt.close(fig)


def plot_bpd_vs_eta(series, path):
    fig, ax = plt.subplots(figsize=SIZES["bpd_vs_eta"], constrained_layout=True)
    setup_eta_axis(ax, series)
    for i, s in enumerate(series):
        rows, eta = _rows(s, "nll_bpd")
        r = s["r"]
        x = _shift(eta, i, len(series), series)
        suffix = f" ({s['label']})" if len(series) > 1 else ""
        ax.errorbar(x, r["nll_bpd"][rows], yerr=np.nan_to_num(r["nll_bpd_stderr"][rows]), marker=MARKERS[i % 5],
                    color=COLORS[i % 5], capsize=3, label="PF-ODE bits/dim" + suffix)
        if np.isfinite(r["elbo_bpd"][rows]).any():
            ax.errorbar(x * 1.08, r["elbo_bpd"][rows], yerr=np.nan_to_num(r["elbo_bpd_stderr"][rows]),
                        marker=MARKERS[i % 5], mfc="white", color="tab:gray" if len(series) == 1 else COLORS[i % 5],
                        ls="--", capsize=3, label="ELBO bits/dim" + suffix)
    ax.set_ylabel("bits/dim (± SE over test images)")
    ax.set_title("Likelihood vs switch point (lower is better)")
    ax.legend(loc="best")
    fig.savefig(path)
    plt.close(fig)


def plot_paired_vs_eta(series, path):
    """Paired differences (point - expert) ± 2 paired SE against each pure expert, FID and bits/dim."""
    fig, axes = plt.subplots(1, 2, figsize=SIZES["paired_vs_eta"], constrained_layout=True)
    fig.suptitle("Paired differences against the pure experts (shaded: η where one expert runs alone; "
                 "blue: quality, red: likelihood)", fontsize=10.5)
    for ax, metric, title in ((axes[0], "fid", "FID difference (point − expert)"),
                              (axes[1], "nll_bpd", "bits/dim difference (point − expert)")):
        setup_eta_axis(ax, series)
        ax.axhline(0, color="k", lw=0.8)
        drawn = False
        for i, s in enumerate(series):
            rows, eta = _rows(s, metric)
            for j, (ref, color, name) in enumerate((("quality", "tab:blue", "quality expert"),
                                                    ("likelihood", "tab:red", "likelihood expert"))):
                if s["a"]["experts"][ref] is None:
                    continue
                keep = [n for n, k in enumerate(rows) if k != s["a"]["experts"][ref]]  # not against itself
                d = [s["a"]["diffs"][rows[n]][ref][metric] for n in keep]
                y = np.array([v["diff"] for v in d])
                e = np.array([v["se"] for v in d])
                x = _shift(eta[keep], 2 * i + j, 2 * len(series), series)
                suffix = f" ({s['label']})" if len(series) > 1 else ""
                ax.errorbar(x, y, yerr=report_stats.Z * np.nan_to_num(e), marker=MARKERS[i % 5], color=color,
                            alpha=0.9 if i == 0 else 0.6, capsize=3, ls="-" if j == 0 else "--",
                            label=f"vs {name}" + suffix)
                drawn = True
        ax.set_xlabel("switch sigma η (symlog axis)")
        ax.set_ylabel("difference ± 2 paired SE\n(below 0: the point is better)")
        ax.set_title(title)
        if drawn:
            ax.legend(loc="best")
    fig.savefig(path)
    plt.close(fig)


def plot_plane(series, path):
    """FID (x) vs bits/dim (y): points joined in eta order, experts starred, Pareto-optimal points
    ringed and joined.
    Error bars: FID paired SE against the quality expert, bits/dim paired SE against the likelihood expert
    (the comparisons a merged point must win); dotted lines at those experts' values."""
    fig, ax = plt.subplots(figsize=SIZES["plane"], constrained_layout=True)
    for i, s in enumerate(series):
        r, a = s["r"], s["a"]
        rows, eta = _rows(s, "fid")
        fid, bpd = r["fid"][rows], r["nll_bpd"][rows]
        q, lk = a["experts"]["quality"], a["experts"]["likelihood"]
        def se(k, ref, metric):  # 0 for the expert itself, NaN (no bar) when that expert point is missing
            if ref not in a["diffs"][k]:
                return np.nan
            d = a["diffs"][k][ref][metric]
            return 0.0 if d is None else d["se"]

        xerr = np.array([se(k, "quality", "fid") for k in rows])
        yerr = np.array([se(k, "likelihood", "nll_bpd") for k in rows])
        color = COLORS[i % 5]
        suffix = f" ({s['label']})" if len(series) > 1 else ""
        ax.errorbar(fid, bpd, xerr=np.nan_to_num(xerr), yerr=np.nan_to_num(yerr), marker=MARKERS[i % 5],
                    color=color, capsize=3, lw=1, label="switch points, in η order" + suffix)
        mask = np.zeros(len(r), bool)
        mask[a["done"]] = True
        import sweep_results
        front = sorted(sweep_results.pareto_optimal(r["fid"], r["nll_bpd"], mask), key=lambda k: r["fid"][k])
        if front:
            ax.plot([r["fid"][k] for k in front], [r["nll_bpd"][k] for k in front], ls="--", lw=1, color="k",
                    marker="o", ms=15, mfc="none", mec="k", label="Pareto-optimal (ringed)" + suffix)
        for k, e in zip(rows, eta):
            ax.annotate(f"η={eta_label(e)}", (r["fid"][k], r["nll_bpd"][k]), textcoords="offset points",
                        xytext=(7, 5), fontsize=9, color=color)
        for k, name, mcolor in ((q, "quality expert", "tab:blue"), (lk, "likelihood expert", "tab:red")):
            if k is not None:
                ax.scatter([r["fid"][k]], [r["nll_bpd"][k]], marker="*", s=260, color=mcolor, edgecolor="k",
                           zorder=5, label=name + suffix if i == 0 or len(series) > 1 else None)
        if q is not None:
            ax.axvline(r["fid"][q], color="tab:blue", ls=":", lw=1)
        if lk is not None:
            ax.axhline(r["nll_bpd"][lk], color="tab:red", ls=":", lw=1)
    ax.margins(0.15)
    ax.set_xlabel(f"{series[0]['r'].fid_label} (lower is better)")
    ax.set_ylabel("PF-ODE bits/dim (lower is better)")
    ax.set_title("Quality–likelihood plane (error bars: paired SE against\n"
                 "the quality expert on FID, the likelihood expert on bits/dim)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    fig.savefig(path)
    plt.close(fig)


GRID_AXES = (0.13, 0.97)  # left and right edges of the image, in figure widths
GRID_MARGIN_IN = (0.25, 0.75)  # above and below the image (x labels), inches


def grid_tile_shape(n_rows, n_columns, h, w):
    """(height, width) in pixels of the mosaic of n_rows x n_columns images of h x w with a 1/14 border."""
    pad = max(1, h // 14)
    return n_rows * (h + pad) + pad, n_columns * (w + pad) + pad


def grid_height_in(tile_shape):
    image_width_in = GRID_WIDTH_IN * (GRID_AXES[1] - GRID_AXES[0])
    return round((image_width_in * tile_shape[0] / tile_shape[1] + sum(GRID_MARGIN_IN)) * DPI) / DPI  # whole pixels


def grid_pixels(n_rows, n_columns, h, w):
    """(width, height) in pixels of the sample-grid PNG."""
    return round(GRID_WIDTH_IN * DPI), round(grid_height_in(grid_tile_shape(n_rows, n_columns, h, w)) * DPI)


def plot_sample_grid(r, rows, images, path, max_columns=16):
    """Rows = eta (ascending), columns = the same sample indices (same seeds) at every eta."""
    n = min(min(len(images[k]) for k in rows), max_columns)
    c, h, w = images[rows[0]].shape[1:]
    pad = max(1, h // 14)
    tile = np.full(grid_tile_shape(len(rows), n, h, w) + (3,), 255, np.uint8)
    for i, k in enumerate(rows):
        for j in range(n):
            img = images[k][j]
            img = np.repeat(img, 3, axis=0) if c == 1 else img[:3]
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            tile[y:y + h, x:x + w] = img.transpose(1, 2, 0)
    height = grid_height_in(tile.shape)
    fig = plt.figure(figsize=(GRID_WIDTH_IN, height))
    ax = fig.add_axes([GRID_AXES[0], GRID_MARGIN_IN[1] / height, GRID_AXES[1] - GRID_AXES[0],
                       1 - sum(GRID_MARGIN_IN) / height])
    ax.imshow(tile, interpolation="nearest", aspect="auto")
    ax.set_yticks([pad + i * (h + pad) + h / 2 for i in range(len(rows))])
    ax.set_yticklabels([f"η={eta_label(r['switch_sigma'][k])}" for k in rows])
    step = 1 if n <= 16 else 2
    ax.set_xticks([pad + j * (w + pad) + w / 2 for j in range(0, n, step)])
    ax.set_xticklabels([str(j) for j in range(0, n, step)])
    ax.set_xlabel("sample index j (seed = seed_base + j, the same at every η)")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.savefig(path)
    plt.close(fig)
