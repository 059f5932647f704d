"""The ranked result: one Row per open issue, a rich table for the terminal, a Markdown report,
and the per-issue triage comment (deterministic text, so unchanged input gives unchanged text)."""
from __future__ import annotations

from dataclasses import dataclass, field

from rich.table import Table

from tools.forge import markdown as markdown_text
from tools.triage.fixability import WEIGHTS


@dataclass
class Row:
    number: int
    title: str
    label: str | None
    score: float
    factors: dict[str, float]
    duplicates: list[tuple[int, float]] = field(default_factory=list)
    enqueue: bool = False


@dataclass
class Result:
    repo: str
    rows: list[Row]
    pairs: list[tuple[int, int, float]]
    model_note: str | None = None     # set when the model part was skipped
    writes: int = 0
    queued: list[int] = field(default_factory=list)
    queue_note: str = ""
    report_path: object | None = None


def rank(rows: list[Row]) -> list[Row]:
    """Best first by fixability score; ties: the older issue first."""
    return sorted(rows, key=lambda r: (-r.score, r.number))


def _factor_text(factors: dict[str, float]) -> str:
    return " ".join(f"{k}={v:g}" for k, v in factors.items())


def table(result: Result) -> Table:
    t = Table(title=f"triage {result.repo}" + (" (factors only: model skipped)" if result.model_note else ""))
    for col in ("rank", "#", "label", "score", "factors", "duplicates", "title"):
        t.add_column(col)
    for n, r in enumerate(result.rows, 1):
        t.add_row(str(n), str(r.number), r.label or "-", f"{r.score:.2f}" + (" *" if r.enqueue else ""),
                  _factor_text(r.factors), ", ".join(f"#{d}" for d, _ in r.duplicates), r.title[:60])
    return t


def comment(row: Row, model_skipped: bool) -> str:
    lines = ["**patchwright triage**", ""]
    lines.append(f"- type: `{row.label}`" if row.label else
                 "- type: not labelled" + (" (model unavailable)" if model_skipped else ""))
    lines.append(f"- fixability: {row.score:.2f} ({_factor_text(row.factors)})")
    if row.duplicates:
        lines.append("- possible duplicates: " + ", ".join(f"#{d} ({s:.2f})" for d, s in row.duplicates))
    return "\n".join(lines)


def markdown(result: Result) -> str:
    out = [f"# Triage of {result.repo}", ""]
    if result.model_note:
        out += [f"> **Model part skipped:** {result.model_note}. Ranking uses the issue's factors only; no type labels.", ""]
    weights = ", ".join(f"{k} {w:g}" for k, w in WEIGHTS.items())
    out += [f"Fixability = weighted factors ({weights}). `*` = enqueued for a fix.", "",
            "| rank | issue | label | score | " + " | ".join(WEIGHTS) + " | duplicates | title |",
            "|---|---|---|---|" + "---|" * len(WEIGHTS) + "---|---|"]
    for n, r in enumerate(result.rows, 1):
        cells = " | ".join(f"{r.factors[k]:g}" for k in WEIGHTS)
        dups = ", ".join(f"#{d}" for d, _ in r.duplicates)
        title = markdown_text.inline(r.title[:80])  # a stranger's title: no ping, link or table break
        out.append(f"| {n} | #{r.number} | {r.label or '-'} | {r.score:.2f}{' *' if r.enqueue else ''} | {cells} | {dups} | {title} |")
    out += ["", "## Likely duplicates", ""]
    out += [f"- #{a} ~ #{b} (cosine {s:.2f})" for a, b, s in result.pairs] or ["none above the threshold"]
    if result.queued or result.queue_note:
        out += ["", "## Enqueued", "", result.queue_note or "", *(f"- #{n}" for n in result.queued)]
    return "\n".join(out) + "\n"
