"""The numbers of `swebench compare`, as pure functions of graded runs (agent.swebench.graded_runs):
one row per run, each instance's outcome, and the paired view of two runs with the exact McNemar
test. The terminal table is drawn here too; the HTML report is agent.swebench.compare_html."""
from __future__ import annotations

from dataclasses import dataclass, field

from agent.swebench.graded_runs import GradedRun

# Outcome of one instance in one run, in the order the legend shows them.
OUTCOMES = {"resolved": "resolved", "unresolved": "unresolved", "empty": "empty patch", "error": "error",
            "offline": "not gradable offline", "absent": "not in run"}


@dataclass
class RunRow:
    label: str                      # run id, with "(oracle-gold, not a model)" for an oracle
    models: str
    scaffold: str
    resolved: int
    offline: int | None             # offline-gradable instances; None when the report does not say
    total: int
    empty: int
    errors: int
    tokens_in: int | None           # None: no summary.json (or no usage in it) to count from
    tokens_out: int | None
    model_seconds: float | None
    wall_seconds: float | None
    cost: float | None              # USD; None without a configured price for the run's model


@dataclass
class Pair:
    a: str
    b: str
    paired: int                     # instances both runs were graded on and both can grade offline
    both: int
    only_a: int
    only_b: int
    neither: int
    only_a_ids: list[str]
    only_b_ids: list[str]
    excluded_ids: list[str]         # graded by both, but one of them needs the internet for it
    unshared: int                   # graded by one of the two runs only
    p_value: float                  # exact McNemar: two-sided binomial test on the discordant pairs


@dataclass
class Comparison:
    runs: list[GradedRun]
    rows: list[RunRow]
    pairs: list[Pair]
    instances: list[str] = field(default_factory=list)   # every instance of any run, by repository


def run_label(run: GradedRun) -> str:
    return f"{run.label} ({run.oracle}, not a model)" if run.oracle else run.label


def repo_of(instance_id: str) -> str:
    """"psf__requests-1234" -> "psf__requests" (the repository part of a SWE-bench id)."""
    return instance_id.rpartition("-")[0] or instance_id


def outcome(run: GradedRun, iid: str) -> str:
    """One key of OUTCOMES. A selected instance with no prediction counts as an error: the run failed on it."""
    r = run.report
    if iid not in run.graded_ids:
        return "absent"
    if iid in (r.get("resolved_ids") or []):
        return "resolved"
    if iid in (r.get("needs_internet") or {}):
        return "offline"
    if iid in (r.get("empty_patch_ids") or []):
        return "empty"
    if iid in (r.get("unresolved_ids") or []):
        return "unresolved"
    return "error"


def run_row(run: GradedRun, prices: dict) -> RunRow:
    r = run.report
    graded = run.graded_ids
    infos = [info for iid, info in ((run.summary or {}).get("instances") or {}).items() if iid in graded]
    usage = [info.get("usage") or {} for info in infos]

    def total(values: list) -> float | None:  # None, not 0, when no instance recorded the number
        present = [v for v in values if isinstance(v, (int, float))]
        return sum(present) if present else None

    tokens_in, tokens_out = total([u.get("prompt_tokens") for u in usage]), total([u.get("completion_tokens") for u in usage])
    models = run.models
    price = prices.get(models[0]) if len(models) == 1 else None
    cost = None
    if price is not None and tokens_in is not None:
        cost = (tokens_in * price.input_per_mtok + (tokens_out or 0) * price.output_per_mtok) / 1e6
    scaffold = (run.summary.get("scaffold") or "patchwright") if run.summary is not None else "n/a"
    return RunRow(label=run_label(run), models=", ".join(models) or "n/a", scaffold=scaffold,
                  resolved=r.get("resolved_instances", len(r.get("resolved_ids") or [])),
                  offline=(r.get("offline") or {}).get("instances"), total=r.get("total_instances", len(graded)),
                  empty=r.get("empty_patch_instances", 0), errors=r.get("error_instances", 0),
                  tokens_in=tokens_in, tokens_out=tokens_out,
                  model_seconds=total([u.get("model_seconds") for u in usage]),
                  wall_seconds=total([info.get("seconds") for info in infos]), cost=cost)


def pair(a: GradedRun, b: GradedRun) -> Pair:
    """Paired outcomes on the instances both runs were graded on, minus those either run cannot grade
    offline (a failure there says nothing about the patch). Empty patches and errors count as not resolved,
    as in the official resolved rate."""
    common = a.graded_ids & b.graded_ids
    online = set(a.report.get("needs_internet") or {}) | set(b.report.get("needs_internet") or {})
    paired = common - online
    ra, rb = set(a.report.get("resolved_ids") or []) & paired, set(b.report.get("resolved_ids") or []) & paired
    only_a, only_b = sorted(ra - rb), sorted(rb - ra)
    return Pair(a=a.label, b=b.label, paired=len(paired), both=len(ra & rb), only_a=len(only_a), only_b=len(only_b),
                neither=len(paired - ra - rb), only_a_ids=only_a, only_b_ids=only_b,
                excluded_ids=sorted(common & online), unshared=len(a.graded_ids ^ b.graded_ids),
                p_value=mcnemar_exact(len(only_a), len(only_b)))


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p: with no difference, each discordant pair is a fair coin."""
    if only_a + only_b == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def compare(runs: list[GradedRun], prices: dict) -> Comparison:
    """The first run against each other one: with many runs, all pairs would be n² lines of p-values."""
    instances = sorted(set().union(*(r.graded_ids for r in runs)), key=lambda i: (repo_of(i), i))
    return Comparison(runs=runs, rows=[run_row(r, prices) for r in runs],
                      pairs=[pair(runs[0], other) for other in runs[1:]], instances=instances)


def cells(row: RunRow) -> list[str]:
    """The table's cells for one run, as the terminal and the HTML report show them."""
    def number(v, fmt="{:,.0f}") -> str:
        return "n/a" if v is None else fmt.format(v)

    return [row.label, row.models, row.scaffold, str(row.resolved), number(row.offline), str(row.total), str(row.empty),
            str(row.errors), number(row.tokens_in), number(row.tokens_out), number(row.model_seconds),
            number(row.wall_seconds), "—" if row.cost is None else _dollars(row.cost)]


def _dollars(cost: float) -> str:
    return f"${cost:,.2f}" if cost >= 10 else f"${cost:.3g}"  # cents hide a small run's cost


HEADERS = ["run", "model", "scaffold", "resolved", "offline-gradable", "instances", "empty patches", "errors",
           "tokens in", "tokens out", "model seconds", "wall seconds", "cost"]
SHOWN_IDS = 20  # instance ids listed per run in the terminal
PAIR_HEADERS = ["A", "B", "paired", "excluded (internet)", "both", "only A", "only B", "neither", "McNemar p"]


TERMINAL_PAIR_HEADERS = ["A", "B", "paired", "excluded", "both", "only A", "only B", "neither", "p"]


def pair_cells(p: Pair) -> list[str]:
    return [p.a, p.b, str(p.paired), str(len(p.excluded_ids)), str(p.both), str(p.only_a), str(p.only_b),
            str(p.neither), f"{p.p_value:.4g}"]


def print_comparison(console, comparison: Comparison) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text  # cells as plain text: a run id or model name is data, never markup

    def table(title: str) -> Table:
        return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)

    # Runs side by side as columns, one row per figure: an 80-column terminal (or a pipe) keeps
    # whole numbers, and a difference reads across one line.
    runs = table("runs")
    runs.add_column("")
    for row in comparison.rows:
        runs.add_column(Text(row.label), justify="right", overflow="fold")
    values = [cells(row) for row in comparison.rows]
    for i, header in enumerate(HEADERS[1:], 1):
        runs.add_row(header, *(Text(v[i]) for v in values))
    console.print(runs)
    pairs = table("paired (p: exact McNemar test on the instances only one run resolves)")
    for header in TERMINAL_PAIR_HEADERS:
        pairs.add_column(header, overflow="fold", no_wrap=header not in ("A", "B"))
    for p in comparison.pairs:
        pairs.add_row(*map(Text, pair_cells(p)))
    console.print(pairs)
    for run in comparison.runs:
        if not run.dataset_sha256:
            console.print(f"note: the dataset of {run.label} is unknown (no digest in its report, no dataset file "
                          "named in its summary.json): not checked against the others", markup=False)
    for p in comparison.pairs:
        console.print(f"{p.a} vs {p.b}: {p.paired} paired, {len(p.excluded_ids)} excluded (need the internet in "
                      f"either run), {p.unshared} graded by one run only (left out of the pairs)", markup=False)
        for who, ids in ((p.a, p.only_a_ids), (p.b, p.only_b_ids)):
            shown = ", ".join(ids[:SHOWN_IDS]) + (f", ... {len(ids) - SHOWN_IDS} more (all in the HTML report)"
                                                  if len(ids) > SHOWN_IDS else "")
            console.print(f"  resolved by {who} alone ({len(ids)}): {shown or '-'}", markup=False)
