"""The `swebench compare` report: one self-contained HTML file (charts inline as SVG, diffs embedded,
no script, no external URL; a Content-Security-Policy forbids loading anything). Every string from
the runs (instance ids, model names, diffs, reasons) is untrusted and escaped."""
from __future__ import annotations

import hashlib
import os
import re
from html import escape
from pathlib import Path
from urllib.parse import quote

from agent.swebench.compare import (HEADERS, OUTCOMES, PAIR_HEADERS, Comparison, cells, outcome, pair_cells,
                                    run_label)
from agent.swebench.compare_charts import charts
from agent.swebench.dataset import KEY_PATCH

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1f2328; background: #ffffff; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; }
td:first-child { white-space: nowrap; }
figure.chart { margin: 16px 0; }
figure.chart svg { max-width: 100%; height: auto; }
figcaption { color: #57606a; font-size: 13px; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; font-size: 12px; }
.o-resolved { background: #dafbe1; } .o-unresolved { background: #ffebe9; } .o-empty { background: #fff8c5; }
.o-error { background: #eaeef2; } .o-offline { background: #fbefff; } .o-absent { background: #ffffff; color: #8c959f; }
.legend span { padding: 2px 8px; margin-right: 6px; border: 1px solid #d0d7de; }
"""
# Nothing may be fetched; inline styles only (the SVGs carry style attributes).
CSP = "default-src 'none'; style-src 'unsafe-inline'"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "run"


def default_html_path(out: Path, labels: list[str]) -> Path:
    name = "__vs__".join(slug(label) for label in labels)
    if len(name) > 150:  # many or long run ids: keep the file name within what file systems take
        name = name[:120] + "-" + hashlib.sha256(name.encode()).hexdigest()[:10]
    return out / "compare" / f"{name}.html"


def write_html(comparison: Comparison, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(comparison, path.parent.resolve()), encoding="utf-8")
    return path


def render_html(c: Comparison, html_dir: Path) -> str:
    anchors = _anchors(c)
    title = "SWE-bench comparison: " + " vs ".join(r.label for r in c.runs)
    parts = [f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
             f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
             f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{escape(title)}</h1>", _datasets(c), "<h2>Runs</h2>",
             _table(HEADERS, [cells(row) for row in c.rows], numeric_from=3), "<h2>Paired</h2>",
             "<p>On the instances both runs were graded on, minus those either run cannot grade offline. "
             "p: exact McNemar test (two-sided binomial on the instances one run alone resolves).</p>",
             _table(PAIR_HEADERS, [pair_cells(p) for p in c.pairs], numeric_from=2)]
    for p in c.pairs:  # the id lists fold away: on a full benchmark they run to hundreds
        parts.append(f"<p><b>{escape(p.a)}</b> vs <b>{escape(p.b)}</b>: {p.unshared} graded in one run only.</p>"
                     + _id_list("excluded (need the internet in either run)", p.excluded_ids)
                     + _id_list(f"resolved by {p.a} alone", p.only_a_ids) + _id_list(f"resolved by {p.b} alone", p.only_b_ids))
    parts.append("<h2>Charts</h2>")
    for name, caption, svg in charts(c):
        parts.append(f'<figure class="chart" id="{name}">{svg}<figcaption>{escape(caption)}</figcaption></figure>')
    parts += ["<h2>Instances</h2>", _legend(), _instances(c, anchors, html_dir), "<h2>Diffs</h2>", _diffs(c, anchors),
              "</body></html>\n"]
    return "\n".join(parts)


def _anchors(c: Comparison) -> dict[tuple[int, str], str]:
    """(run index, instance id) -> a unique element id, for every prediction with a patch."""
    anchors, used = {}, set()
    for k, run in enumerate(c.runs):
        for iid, pred in run.predictions.items():
            if pred.get(KEY_PATCH) and iid in run.graded_ids:
                anchor, n = f"diff-{slug(run.label)}-{slug(iid)}", 1
                while anchor in used:  # two ids that slug alike
                    n += 1
                    anchor = f"diff-{slug(run.label)}-{slug(iid)}-{n}"
                used.add(anchor)
                anchors[(k, iid)] = anchor
    return anchors


def _datasets(c: Comparison) -> str:
    rows = [f"{escape(r.label)}: {escape(str(r.dataset_path or 'unknown'))}"
            + (f" (sha256 {escape(r.dataset_sha256[:12])})" if r.dataset_sha256 else " (digest unknown, not checked)")
            for r in c.runs]
    return "<p>datasets: " + "; ".join(rows) + "</p>"


def _table(headers: list[str], rows: list[list[str]], numeric_from: int) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td{" class=num" if i >= numeric_from else ""}>{escape(v)}</td>'
                                    for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _id_list(title: str, ids: list[str]) -> str:
    listed = ", ".join(f"<code>{escape(i)}</code>" for i in ids) or "none"
    return f"<details><summary>{escape(title)} ({len(ids)})</summary><p>{listed}</p></details>"


def _legend() -> str:
    return '<p class="legend">' + "".join(f'<span class="o-{k}">{escape(v)}</span>' for k, v in OUTCOMES.items()) + "</p>"


def _instances(c: Comparison, anchors: dict, html_dir: Path) -> str:
    head = "<th>instance</th>" + "".join(f"<th>{escape(run_label(r))}</th>" for r in c.runs)
    rows = []
    for iid in c.instances:
        tds = []
        for k, run in enumerate(c.runs):
            result = outcome(run, iid)
            reason = (run.report.get("errors") or {}).get(iid) or run.instance(iid).get("reason") or ""
            text = escape(OUTCOMES[result])
            if (k, iid) in anchors:
                text = f'<a href="#{anchors[(k, iid)]}">{text}</a>'
            trajectory = run.trajectory(iid)
            if trajectory is not None:
                href = quote(Path(os.path.relpath(trajectory.resolve(), html_dir)).as_posix(), safe="/")
                text += f' · <a href="{escape(href)}">trajectory</a>'
            tds.append(f'<td class="o-{result}" title="{escape(str(reason)[:300])}">{text}</td>')
        rows.append(f"<tr><td><code>{escape(iid)}</code></td>{''.join(tds)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _diffs(c: Comparison, anchors: dict) -> str:
    parts = []
    for (k, iid), anchor in anchors.items():
        run = c.runs[k]
        parts.append(f'<details id="{anchor}"><summary>{escape(run_label(run))}: <code>{escape(iid)}</code></summary>'
                     f"<pre>{escape(run.predictions[iid][KEY_PATCH])}</pre></details>")
    return "\n".join(parts) or "<p>no diffs (no predictions file, or only empty patches)</p>"
