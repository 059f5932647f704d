"""The charts of the `swebench compare` report: matplotlib figures as inline SVG text. Nothing in an
SVG refers outside it (no fonts, no images, no namespace URLs), so the report is one file."""
from __future__ import annotations

import io
import re
from pathlib import Path

from agent.swebench.compare import OUTCOMES, Comparison, outcome, repo_of, run_label

RUN_COLOURS = ["#0969da", "#bc4c00", "#8250df", "#bf3989", "#1b7c83", "#953800", "#116329", "#4d2d00"]
OUTCOME_COLOURS = {"resolved": "#1a7f37", "unresolved": "#cf222e", "empty": "#d4a72c", "error": "#57606a",
                   "offline": "#b392f0", "absent": "#eaeef2"}
LABELLED_INSTANCES = 80  # beyond this many, the matrix names repositories instead of instances


def run_colour(index: int) -> str:
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def figures(comparison: Comparison) -> list[tuple[str, str, object]]:
    """(id, caption, matplotlib figure) for each chart, in page order."""
    import matplotlib

    matplotlib.use("Agg")  # no display; and Figure below never touches pyplot's global state
    return [("chart-resolved", "Instances resolved per run; brackets: the paired difference against the first "
             "run (resolved by one run alone) and the exact McNemar p-value.", _resolved(comparison)),
            ("chart-efficiency", "Tokens (in + out) and wall time against instances resolved, one point per run.",
             _efficiency(comparison)),
            ("chart-matrix", "Every instance's outcome in every run.", _matrix(comparison)),
            ("chart-repos", "Instances resolved per repository and run.", _repos(comparison))]


def charts(comparison: Comparison) -> list[tuple[str, str, str]]:
    """(id, caption, svg) for each chart, in page order, as inline SVG for the HTML report."""
    return [(name, caption, _svg(fig, name.removeprefix("chart-"))) for name, caption, fig in figures(comparison)]


def write_chart_files(comparison: Comparison, folder: Path) -> list[Path]:
    """Each chart as a standalone SVG file (FOLDER/chart-NAME.svg), for a README or a paper: the
    same figures as the HTML report, with their XML namespaces, byte-stable for the same runs."""
    import matplotlib

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, _, fig in figures(comparison):
        path = folder / f"{name}.svg"
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):
            fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None, "Type": None, "Format": None})
        paths.append(path)
    return paths


def _plain(text: str) -> str:
    """Data as literal text: an unescaped $ would start matplotlib's math mode."""
    return text.replace("$", r"\$")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _resolved(c: Comparison):
    fig = _figure(max(5.0, 1.4 * len(c.runs) + 2), 4.2)
    ax = fig.subplots()
    values = [row.resolved for row in c.rows]
    xs = list(range(len(values)))
    ax.bar(xs, values, color=[run_colour(i) for i in xs], width=0.6)
    for x, row in zip(xs, c.rows):
        ax.text(x, row.resolved, f"{row.resolved}/{row.total}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(xs, [_plain(run_label(r)) for r in c.runs], fontsize=8)
    top = max(values + [1])
    for k, p in enumerate(c.pairs, 1):  # pair k is run 0 against run k
        y = top * (1.12 + 0.2 * (k - 1))
        ax.plot([0, 0, k, k], [y - top * 0.04, y, y, y - top * 0.04], color="#24292f", linewidth=1)
        ax.text(k / 2, y, _plain(f"only {p.a}: {p.only_a} · only {p.b}: {p.only_b} · p = {p.p_value:.3g}"),
                ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, top * (1.3 + 0.2 * len(c.pairs)))
    ax.set_ylabel("instances resolved")
    _integer_counts(ax)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _efficiency(c: Comparison):
    fig = _figure(9, 3.8)
    tokens_ax, time_ax = fig.subplots(1, 2)
    tokens = [None if r.tokens_in is None else r.tokens_in + (r.tokens_out or 0) for r in c.rows]
    for ax, xs, name in ((tokens_ax, tokens, "tokens (in + out)"),
                         (time_ax, [r.wall_seconds for r in c.rows], "wall seconds")):
        points = [(i, x, row.resolved) for i, (x, row) in enumerate(zip(xs, c.rows)) if x is not None]
        for i, x, y in points:
            ax.scatter([x], [y], s=90, color=run_colour(i), zorder=3)
            ax.annotate(_plain(c.runs[i].label), (x, y), textcoords="offset points", xytext=(6, 6), fontsize=8)
        if not points:
            ax.text(0.5, 0.5, f"no {name} recorded\n(summary.json)", transform=ax.transAxes, ha="center",
                    va="center", color="#57606a")
        ax.set_xlabel(name)
        ax.set_ylabel("instances resolved")
        ax.margins(0.25)
        _integer_counts(ax)
        ax.grid(alpha=0.3)
    return fig


def _matrix(c: Comparison):
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    keys = list(OUTCOMES)
    n, labelled = len(c.instances), len(c.instances) <= LABELLED_INSTANCES
    fig = _figure(min(16.0, max(7.0, 0.28 * n + 3)), 1.0 + 0.35 * len(c.runs) + (1.6 if labelled else 0.4))
    ax = fig.subplots()
    codes = [[keys.index(outcome(run, iid)) for iid in c.instances] for run in c.runs]
    ax.pcolormesh(codes, cmap=ListedColormap([OUTCOME_COLOURS[k] for k in keys]),
                  norm=BoundaryNorm(range(len(keys) + 1), len(keys)), edgecolors="white",
                  linewidth=0.8 if labelled else 0)
    ax.set_yticks([i + 0.5 for i in range(len(c.runs))], [_plain(run_label(r)) for r in c.runs], fontsize=8)
    ax.invert_yaxis()
    if labelled:
        ax.set_xticks([i + 0.5 for i in range(n)], [_plain(i) for i in c.instances], rotation=90, fontsize=7)
    else:  # too many to name: one tick per repository, a line between repositories
        repos = [repo_of(i) for i in c.instances]
        starts = [i for i in range(n) if i == 0 or repos[i] != repos[i - 1]]
        ends = starts[1:] + [n]
        ax.set_xticks([(s + e) / 2 for s, e in zip(starts, ends)], [_plain(repos[s]) for s in starts],
                      rotation=30, ha="right", fontsize=7)
        for s in starts[1:]:
            ax.axvline(s, color="#24292f", linewidth=0.8)
    fig.legend(handles=[Patch(color=OUTCOME_COLOURS[k], label=OUTCOMES[k]) for k in keys], loc="outside lower center",
               ncol=len(keys), fontsize=8, frameon=False)
    return fig


def _repos(c: Comparison):
    repos = sorted({repo_of(i) for i in c.instances})
    width = 0.8 / max(1, len(c.runs))
    fig = _figure(min(16.0, max(6.0, 0.9 * len(repos) * max(1, len(c.runs)) ** 0.5 + 3)), 4.2)
    ax = fig.subplots()
    for k, run in enumerate(c.runs):
        resolved = set(run.report.get("resolved_ids") or [])
        counts = [sum(1 for i in resolved if repo_of(i) == repo) for repo in repos]
        ax.bar([x + (k - (len(c.runs) - 1) / 2) * width for x in range(len(repos))], counts, width=width,
               color=run_colour(k), label=_plain(run_label(run)))
    sizes = [sum(1 for i in c.instances if repo_of(i) == repo) for repo in repos]
    ax.set_xticks(range(len(repos)), [_plain(f"{r}\n(of {n})") for r, n in zip(repos, sizes)],
                  rotation=30 if len(repos) > 4 else 0, ha="right" if len(repos) > 4 else "center", fontsize=8)
    _integer_counts(ax)
    ax.set_ylabel("instances resolved")
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _integer_counts(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # instances come whole


def _svg(fig, name: str) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):  # text as text; stable ids
        # No metadata: matplotlib's names its creator and type by URL.
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Type": None, "Format": None})
    text = buf.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)  # implied in HTML; and each is an http:// string
    # Each figure numbers its ids from 1 (patch_1, clip paths): prefix them, or two charts on one page collide.
    text = re.sub(r'\bid="([^"]+)"', rf'id="{name}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{name}-\1)", text)
    return re.sub(r'href="#([^"]+)"', rf'href="#{name}-\1"', text)
