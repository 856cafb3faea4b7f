"""Renders the blocks of analysis/report.py twice, as one self-contained HTML file (figures inlined as base64
data URIs) and as Markdown (figures as PNG files beside it), so that both say the same. Blocks:
("h1"|"h2"|"h3"|"p", text), ("ul", [text]), ("table", header, rows), ("figures", [(png file, caption)]),
("pre", summary, text). Text may hold **bold** and `code`.
"""
import base64
import html
import math
import os
import re

import report_figures


def num(v, spec=".4g"):
    return "–" if v is None or not math.isfinite(v) else format(v, spec)


def eta_text(r, k):
    return report_figures.eta_label(r["switch_sigma"][k])


def inline_html(text):
    t = html.escape(text, quote=False)
    t = re.sub(r"`([^`]*)`", r"<code>\1</code>", t)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)


CSS = """body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}table{border-collapse:collapse;margin:0.8em 0;font-size:0.85em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f2f2f2}td:nth-child(n+2){white-space:nowrap}
pre{background:#f7f7f7;padding:0.8em;overflow-x:auto;font-size:0.85em}figure{margin:0.8em 0}
.figs{display:flex;flex-wrap:wrap;gap:1em}.figs figure{flex:1 1 45%}img{max-width:100%}
figcaption{font-size:0.9em;color:#444}code{font-size:0.9em}"""


def render_html(blocks, out):
    parts = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<title>Switch-point sweep report</title>", f"<style>{CSS}</style></head><body>"]
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3"):
            parts.append(f"<{kind}>{inline_html(b[1])}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{inline_html(b[1])}</p>")
        elif kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{inline_html(x)}</li>" for x in b[1]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th>{inline_html(h)}</th>" for h in b[1])
            body = "".join("<tr>" + "".join(f"<td>{inline_html(c)}</td>" for c in row) + "</tr>" for row in b[2])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif kind == "figures":
            figs = []
            for name, caption in b[1]:
                with open(os.path.join(out, name), "rb") as f:
                    data = base64.b64encode(f.read()).decode("ascii")
                figs.append(f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{html.escape(name)}\">"
                            f"<figcaption>{inline_html(caption)}</figcaption></figure>")
            parts.append("<div class=\"figs\">" + "".join(figs) + "</div>")
        elif kind == "pre":
            parts.append(f"<details><summary>{inline_html(b[1])}</summary><pre>{html.escape(b[2])}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def md_cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks):
    parts = []
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3"):
            parts.append("#" * int(kind[1]) + " " + b[1])
        elif kind == "p":
            parts.append(b[1])
        elif kind == "ul":
            parts.append("\n".join(f"- {x}" for x in b[1]))
        elif kind == "table":
            lines = ["| " + " | ".join(md_cell(h) for h in b[1]) + " |", "|" + "|".join("---" for _ in b[1]) + "|"]
            lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in b[2]]
            parts.append("\n".join(lines))
        elif kind == "figures":
            parts.append("\n\n".join(f"![{name}]({name})\n\n*{caption}*" for name, caption in b[1]))
        elif kind == "pre":
            parts.append(f"{b[1]}:\n\n```\n{b[2].rstrip()}\n```")
    return "\n\n".join(parts) + "\n"
