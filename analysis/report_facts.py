"""The run-facts section of analysis/report.py: what was run, how, and at what cost (network evaluations)."""
import datetime
import os

import sweep_results
from report_render import eta_text, num


def wall_time(s):
    attrs = s.r.root_attrs
    for key in sorted(attrs):
        if "seconds" in key or "wall" in key:
            return f"{attrs[key]} ({key})"
    created = attrs.get("created_utc")
    if not created:
        return "not recorded in the file"
    try:
        start = datetime.datetime.strptime(str(created), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return f"not recorded (created {created})"
    end = datetime.datetime.fromtimestamp(os.path.getmtime(s.path), datetime.timezone.utc)
    span = max(0, int((end - start).total_seconds()))
    return (f"about {span // 3600} h {span // 60 % 60} min {span % 60} s: from created_utc {created} to the file's "
            f"last write {end:%Y-%m-%dT%H:%M:%SZ} (includes any pause between resumed runs; the file records no "
            "wall time)")


KNOWN_COLUMNS = set(sweep_results.REQUIRED_COLUMNS) | {"elbo_bpd_stderr", "fid_stderr", "nll_bpd_stderr"}
SHOWN_ATTRS = ("status", "switchdiff_version", "git_commit", "created_utc", "world_size", "command", "seed_base",
               "nll_seed")


def facts_blocks(s):
    """Blocks for one file: root attributes, experts with SHA-256, NFE per point, the stored config."""
    r, attrs = s.r, s.r.root_attrs
    items = [f"file: `{s.path}`"]
    for key in SHOWN_ATTRS:
        if key in attrs:
            items.append(f"{key}: `{attrs[key]}`")
    items.append(f"wall time: {wall_time(s)}")
    others = [k for k in sorted(attrs) if k not in SHOWN_ATTRS + ("config", "run_identity", "bpd_formula")]
    items += [f"{k}: `{attrs[k]}`" for k in others]
    blocks = [("ul", items)]
    rows = [[role_name, str(e.get("path", "–")), f"`{e.get('sha256', '–')}`", str(e.get("parameterization", "–")),
             str(e.get("image_shape", "–"))] for role_name, e in sorted(s.experts.items())]
    blocks.append(("table", ["expert", "path", "SHA-256", "parameterization", "image shape"], rows or
                   [["–", "no /experts group in this file", "", "", ""]]))
    extra = [c for c in sorted(r.columns) if c not in KNOWN_COLUMNS]
    header = ["point", "η", "status", "NFE/sample", "samples", "NFE/test image (PF-ODE)", "test images",
              "total (samples + PF-ODE)"] + extra
    rows = []
    for k in range(len(r)):
        total = r["sample_nfe_mean"][k] * r["n_samples"][k] + r["nll_nfe_mean"][k] * r["n_test"][k]
        status = sweep_results.STATUS_NAMES.get(int(r["status"][k]), str(r["status"][k]))
        rows.append([str(k), eta_text(r, k), status, num(r["sample_nfe_mean"][k], ".1f"), num(r["n_samples"][k], ".0f"),
                     num(r["nll_nfe_mean"][k], ".1f"), num(r["n_test"][k], ".0f"), num(total, ".0f")] +
                    [num(r[c][k], ".6g") for c in extra])
    blocks.append(("h3", "Network evaluations per point"))
    blocks.append(("table", header, rows))
    blocks.append(("p", "NFE: network evaluations (the merged model's denoiser calls). The total counts sampling "
                   "and the PF-ODE bits/dim; ELBO evaluations are not included. Further /sweep columns of newer "
                   "files (e.g. performed evaluations) are shown as they are stored."))
    if "bpd_formula" in attrs:
        blocks.append(("p", f"bits/dim formula: {attrs['bpd_formula']}"))
    blocks.append(("pre", "resolved config (as stored in the file)", str(attrs.get("config", "(not stored)"))))
    if "run_identity" in attrs:
        blocks.append(("pre", "run identity (what a resumed run must match)", str(attrs["run_identity"])))
    return blocks
