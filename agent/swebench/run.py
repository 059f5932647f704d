"""`patchwright swebench run`: the fix graph on SWE-bench instances, predictions in the official
format. Thin over agent.runner.start_run: the request carries the instance as an Issue whose
body is the problem statement alone; patch, test_patch, FAIL_TO_PASS and PASS_TO_PASS stay here.

Layout: OUT/RUN_ID/predictions.jsonl, OUT/RUN_ID/runs/INSTANCE_ID/ (the fix run: trajectory,
report, test logs), OUT/RUN_ID/summary.json (status and tokens per instance). Resumable: ids
already in predictions.jsonl are skipped unless --redo.
"""
from __future__ import annotations

import json
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agent.nodes.selection import best_attempt
from agent.swebench.dataset import KEY_ID, KEY_MODEL, KEY_PATCH, ORACLES, load_dataset, load_specs, select
from agent.swebench.verify_env import public_row


@dataclass
class RunOptions:
    dataset: Path
    run_id: str
    out_dir: Path
    repos: Path | None = None
    instances: list[str] | None = None
    filter: str | None = None
    workers: int = 1
    redo: bool = False
    oracle: str | None = None
    verify: str = "spec"                 # "spec" | "none"
    specs: Path | None = None
    config: Path | None = None

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.run_id


@dataclass
class RunSummary:
    run_id: str
    predictions: Path
    instances: dict = field(default_factory=dict)   # id -> {status, tokens, seconds, run_dir, reason}

    def totals(self) -> dict:
        done = self.instances.values()
        return {"instances": len(self.instances),
                "patched": sum(1 for i in done if i.get("patch_chars")),
                "errors": sum(1 for i in done if i["status"] == "error"),
                "calls": sum(i.get("usage", {}).get("calls", 0) for i in done),
                "prompt_tokens": sum(i.get("usage", {}).get("prompt_tokens", 0) for i in done),
                "completion_tokens": sum(i.get("usage", {}).get("completion_tokens", 0) for i in done)}

    def text(self) -> str:
        t = self.totals()
        return (f"run {self.run_id}: {t['instances']} instance(s) this session, {t['patched']} with a patch, "
                f"{t['errors']} error(s); {t['calls']} model calls, {t['prompt_tokens']} prompt + "
                f"{t['completion_tokens']} completion tokens\npredictions: {self.predictions}")


def model_label(settings) -> str:
    m = settings.model
    return "patchwright__" + (getattr(m, "model", "") or getattr(m, "profile", "") or m.type).replace("/", "__")


def done_ids(predictions: Path) -> set[str]:
    if not predictions.is_file():
        return set()
    ids = set()
    for line in predictions.read_text(encoding="utf-8").splitlines():
        try:
            ids.add(json.loads(line)[KEY_ID])
        except (json.JSONDecodeError, KeyError, TypeError):
            continue  # a line cut by a kill: that instance runs again
    return ids


def pick_patch(state: dict) -> str:
    """The prediction: the attempt deliver would deliver (agent.nodes.selection.best_attempt: the best
    tested one by tier, regressions and failing tests), without the reproduction test a pull request
    may carry. An attempt's diff is its chosen candidate's (verify picks among run.samples candidates
    by the instance's own existing tests and the reproduction test: the hidden tests never come into it)."""
    best = best_attempt(state.get("attempts", []))
    return best["diff"] if best else (state.get("diff") or "")


def run_one(settings, opts: RunOptions, row: dict, issue: dict, *, harness=None, **backends) -> dict:
    """One instance through the fix graph; returns the prediction plus its bookkeeping.
    `row` holds the public fields only (see verify_env.public_row)."""
    from agent.request import RunRequest
    from agent.runner import RunError, start_run
    from agent.swebench.verify_env import TEST_COMMAND, NoTestSandbox, SpecSandbox

    iid = row["instance_id"]
    run_settings = settings.model_copy(update={"home": opts.run_dir})
    if opts.verify == "spec":
        sandbox = SpecSandbox(harness, row, issue["body"], timeout=settings.sandbox.test_timeout)
        run_settings = run_settings.model_copy(update={"run": settings.run.model_copy(
            update={"test_command": TEST_COMMAND, "reproduce_command": sandbox.reproduce_command()})})
    else:
        sandbox = NoTestSandbox()
        # No test runs here, so a reproduction could never count: no model turns are spent on one.
        run_settings = run_settings.model_copy(update={"run": settings.run.model_copy(update={"reproduce": False})})
    request = RunRequest(issue=issue, issue_ref=f"swebench:{iid}", repos_dir=str(opts.repos) if opts.repos else None)
    started = time.monotonic()
    info = {"status": "error", "run_dir": str(run_settings.runs_dir / iid)}
    shutil.rmtree(run_settings.runs_dir / iid, ignore_errors=True)  # a retried instance starts clean
    try:
        result = start_run(run_settings, request, run_id=iid, sandbox=backends.pop("sandbox", sandbox), **backends)
        patch = pick_patch(result.state)
        info.update(status=result.state.get("exit_status", "unknown"), reason=result.state.get("reason", ""),
                    usage=result.usage)
    except RunError as e:
        patch, info["reason"] = None, str(e)
    except Exception as e:  # noqa: BLE001 - one instance never ends the whole run
        patch, info["reason"] = None, f"{type(e).__name__}: {e}"
    finally:
        sandbox.close()
    info["seconds"] = round(time.monotonic() - started, 1)
    info["patch_chars"] = len(patch or "")
    pred = None if patch is None else {KEY_ID: iid, KEY_MODEL: model_label(settings), KEY_PATCH: patch}
    return {"prediction": pred, "info": info}


class PredictionWriter:
    """Appends official prediction lines, one flushed line per instance, from any thread."""

    def __init__(self, path: Path):
        self.path, self.lock = path, threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, pred: dict, redo: bool = False) -> None:
        with self.lock:
            lines = []
            if redo and self.path.is_file():
                lines = [ln for ln in self.path.read_text(encoding="utf-8").splitlines()
                         if ln.strip() and _line_id(ln) != pred[KEY_ID]]
                self.path.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(pred) + "\n")


def _line_id(line: str) -> str | None:
    try:
        return json.loads(line).get(KEY_ID)
    except (json.JSONDecodeError, AttributeError):
        return None


def plan(opts: RunOptions) -> tuple[dict, list[str]]:
    rows = load_dataset(opts.dataset)
    ids = select(rows, opts.instances, opts.filter)
    if not opts.redo:
        finished = done_ids(opts.run_dir / "predictions.jsonl")
        ids = [i for i in ids if i not in finished]
    return rows, ids


def run_instances(settings, opts: RunOptions, console=None, **backends) -> RunSummary:
    from tools.issue_sources import load_swebench_instance

    rows, todo = plan(opts)
    writer = PredictionWriter(opts.run_dir / "predictions.jsonl")
    summary = RunSummary(opts.run_id, writer.path)
    harness = None
    if opts.verify == "spec" and not opts.oracle:
        from agent.swebench.harness import Harness

        harness = Harness(load_specs(opts.specs), opts.repos, opts.out_dir, sandbox=settings.sandbox)
    bar = None
    if console is not None:
        from agent.swebench.progress import InstanceProgress

        bar = InstanceProgress(len(todo), f"run {opts.run_id}", console).__enter__()
    lock = threading.Lock()

    def one(iid: str) -> None:
        if opts.oracle:
            out = {"prediction": {KEY_ID: iid, KEY_MODEL: ORACLES[opts.oracle],
                                  KEY_PATCH: rows[iid]["patch"] if opts.oracle == "gold" else ""},
                   "info": {"status": f"oracle-{opts.oracle}"}}
        else:
            issue = load_swebench_instance(opts.dataset, iid).model_dump()
            out = run_one(settings, opts, public_row(rows[iid]), issue, harness=harness, **dict(backends))
        record(summary, writer, opts, iid, out, lock)
        if bar:
            bar(iid, out["info"])

    try:
        if opts.workers <= 1:
            for iid in todo:
                one(iid)
        else:
            with ThreadPoolExecutor(max_workers=opts.workers) as pool:
                list(pool.map(one, todo))
    finally:
        if bar:
            bar.__exit__(None, None, None)
    return summary


def record(summary: RunSummary, writer: PredictionWriter, opts: RunOptions, iid: str, out: dict, lock) -> None:
    if out["prediction"] is not None:  # errors (model endpoint down, Docker) are retried on resume
        writer.add(out["prediction"], redo=opts.redo)
    with lock:
        summary.instances[iid] = out["info"]
        path = opts.run_dir / "summary.json"
        old = json.loads(path.read_text()) if path.is_file() else {"instances": {}}
        old["instances"].update({iid: out["info"]})
        totals = RunSummary(opts.run_id, writer.path, old["instances"]).totals()
        path.write_text(json.dumps({"run_id": opts.run_id, "options": _jsonable(opts), "totals": totals,
                                    "instances": old["instances"]}, indent=2))


def _jsonable(opts: RunOptions) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}
