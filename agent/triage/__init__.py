"""`patchwright triage OWNER/REPO`: read the backlog, label with the model (strict, fixed set),
find likely duplicates, score fixability from the issue's factors, report; with apply=True write labels and
one triage comment per issue (only what changed) and enqueue the best issues on the App's queue.

The model part is optional: on the first ModelError it is skipped for the rest of the run and the
result says so; the factors-only ranking is still produced.
"""
from __future__ import annotations

from pathlib import Path

from agent.models import ModelError
from prompts import render
from tools.triage.backlog import apply as apply_item
from tools.triage.backlog import read_backlog
from tools.triage.fixability import factors, score
from tools.triage.labels import parse_label
from tools.triage.report import Result, Row, comment, markdown, rank
from tools.triage.similarity import similar_pairs


def github_client(settings):
    from tools.forge.api import retry_policy

    # Pages of 100 (the most GitHub gives) and the configured pacing: a backlog is many calls.
    return settings.github.client(per_page=100, seconds_between_requests=settings.triage.seconds_between_requests,
                                  seconds_between_writes=settings.triage.seconds_between_writes,
                                  retry=retry_policy(settings.app.github_retries, settings.app.max_rate_limit_wait))


def label_all(model, items) -> tuple[dict[int, str | None], str | None]:
    """{number: label or None}, and a note when the model could not be reached."""
    labels: dict[int, str | None] = {}
    for item in items:
        prompt = render("triage_label.j2", title=item.title, body=item.body)
        try:
            reply = model.complete([{"role": "user", "content": prompt}])
        except ModelError as e:
            return {}, f"model unavailable ({str(e).splitlines()[0][:200]})"
        labels[item.number] = parse_label(reply.content)
    return labels, None


def run_triage(settings, repo_name: str, *, apply: bool = False, limit: int | None = None,
               github=None, model=None) -> Result:
    cfg = settings.triage
    github = github or github_client(settings)
    repo = github.get_repo(repo_name)
    open_items, closed = read_backlog(repo, limit, cfg.closed_lookback)
    if model is None:
        try:
            model = settings.model.build()
        except Exception as e:  # noqa: BLE001 - a broken model config must not stop the factors ranking
            model = None
            note = f"model not configured ({e})"
    labels, note = label_all(model, open_items) if model is not None else ({}, note)
    pairs = similar_pairs([i.as_dict() for i in open_items + closed], cfg.duplicate_threshold)
    rows = []
    for item in open_items:
        label = labels.get(item.number)
        found = factors(item.as_dict(), item.comments, label)
        dups = [(b if a == item.number else a, s) for a, b, s in pairs if item.number in (a, b)]
        rows.append(Row(item.number, item.title, label, score(found), found, dups))
    result = Result(repo_name, rank(rows), pairs, model_note=note)
    _choose(result, cfg, {i.number: i for i in closed})
    if apply:
        by_number = {i.number: i for i in open_items}
        for row in result.rows:
            result.writes += apply_item(by_number[row.number], row.label, comment(row, note is not None))
        if cfg.enqueue:
            _enqueue(settings, result, repo_name)
        else:
            result.queue_note = "enqueueing is off (triage.enqueue = false): the top issues are only marked *"
    path = cfg.report or settings.home_dir / "triage" / f"{repo_name.replace('/', '+')}.md"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(markdown(result))
    result.report_path = Path(path)
    return result


def _choose(result: Result, cfg, closed: dict) -> None:
    """Mark the top K by score: bugs or unlabelled, at least min_score, and not the later copy of
    an open duplicate or a duplicate of a closed issue."""
    taken = set()
    for row in result.rows:
        if len(taken) >= cfg.top_k:
            break
        later_copy = any(d < row.number or d in closed for d, _ in row.duplicates)
        if row.label in (None, "bug") and row.score >= cfg.min_score and not later_copy:
            row.enqueue = True
            taken.add(row.number)


def _enqueue(settings, result: Result, repo_name: str) -> None:
    """The App's job store and queue; the delivery id is fixed per issue, so a re-run enqueues nothing new."""
    from agent.app.jobs import JobStore
    from agent.app.queue import JobQueue

    store = JobStore(settings.home_dir / "app" / "jobs.sqlite")
    queue = None
    sender = settings.triage.sender or repo_name.split("/")[0]
    for row in result.rows:
        if not row.enqueue:
            continue
        job_id, outcome = store.add_trigger(f"triage:{repo_name}#{row.number}", "triage", repo_name, row.number,
                                            None, sender, "triage")
        if outcome == "created":
            queue = queue or JobQueue(settings)
            queue.enqueue("intake", job_id)
            result.queued.append(row.number)
    result.queue_note = (f"{len(result.queued)} new job(s) on the App's queue (run `patchwright worker`); "
                         "issues enqueued by an earlier run are not enqueued again.")
