"""Scale-out for `swebench run`: instances go through huey on Redis to `patchwright worker`
processes, on this machine or others; the enqueuing process collects the results and writes
predictions.jsonl itself, so predictions live in one place whichever worker ran the instance.

Self-contained on purpose: its own huey instance and queue name, apart from the GitHub App's.
A job carries the instance's public fields and the Issue (problem statement only), so a worker
needs no dataset file, and the hidden tests never travel. It does need the repositories (the
same --repos path, or clone access) and Docker for --verify spec. Jobs and results travel as
JSON (agent.hueyjson), never pickle: whoever can write to the Redis cannot run code in a worker.
"""
from __future__ import annotations

import threading
from dataclasses import asdict
from pathlib import Path

from huey import Huey

from agent.hueyjson import JSONRedisHuey, JSONSqliteHuey

QUEUE_NAME = "patchwright-swebench"
TASK_NAME = "swebench_instance"
RESULT_TIMEOUT = 24 * 3600.0
_worker_config: dict = {"config": None}


def make_huey(url: str) -> Huey:
    """redis://HOST:PORT/DB (the shared deployment) or sqlite:///PATH (one machine, no Redis)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return JSONRedisHuey(QUEUE_NAME, url=url)
    if url.startswith("sqlite:///"):
        return JSONSqliteHuey(QUEUE_NAME, filename=url[len("sqlite:///"):])
    raise ValueError(f"queue URL must be redis://... or sqlite:///...: {url}")


def register(huey: Huey):
    return huey.task(name=TASK_NAME)(run_job)


def run_job(job: dict) -> dict:
    """Runs on a worker: one instance through the fix graph with the worker's own settings
    (its model endpoint, its Docker)."""
    from agent.config import load_settings
    from agent.swebench.run import RunOptions, run_one

    config = _worker_config["config"]
    settings = load_settings(Path(config) if config else None)
    opts = RunOptions(**{k: (Path(v) if k in ("dataset", "out_dir", "repos", "specs", "config") and v else v)
                         for k, v in job["options"].items()})
    harness = None
    if opts.verify == "spec":
        from agent.swebench.dataset import load_specs
        from agent.swebench.harness import Harness

        harness = Harness(load_specs(opts.specs), opts.repos, opts.out_dir, sandbox=settings.sandbox)
    return run_one(settings, opts, job["row"], job["issue"], harness=harness)


def enqueue_run(settings, opts, url: str, console=None):
    """Enqueue every pending instance, then write each prediction as its worker finishes it."""
    from agent.swebench.run import PredictionWriter, RunSummary, plan, record
    from agent.swebench.verify_env import public_row
    from tools.issue_sources import load_swebench_instance

    rows, todo = plan(opts)
    task = register(make_huey(url))
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}
    pending = {}
    for iid in todo:
        issue = load_swebench_instance(opts.dataset, iid).model_dump()
        pending[iid] = task({"options": options, "row": public_row(rows[iid]), "issue": issue})
    writer = PredictionWriter(opts.run_dir / "predictions.jsonl")
    summary = RunSummary(opts.run_id, writer.path)
    if console is not None:
        console.print(f"queued {len(pending)} instance(s) on {url}; waiting for `patchwright worker --queue {url}`")
    bar = None
    if console is not None:
        from agent.swebench.progress import InstanceProgress

        bar = InstanceProgress(len(pending), f"run {opts.run_id} (queue)", console).__enter__()
    lock = threading.Lock()
    try:
        for iid, result in pending.items():
            try:
                out = result.get(blocking=True, timeout=RESULT_TIMEOUT)
            except Exception as e:  # noqa: BLE001 - a failed job is that instance's error, not the run's
                out = {"prediction": None, "info": {"status": "error", "reason": f"worker: {e}"}}
            record(summary, writer, opts, iid, out, lock)
            if bar:
                bar(iid, out["info"])
    finally:
        if bar:
            bar.__exit__(None, None, None)
    return summary


def serve_worker(url: str, workers: int = 1, config: Path | None = None) -> None:
    """`patchwright worker`: consume the SWE-bench queue until interrupted."""
    _worker_config["config"] = str(config) if config else None
    huey = make_huey(url)
    register(huey)
    huey.create_consumer(workers=workers, periodic=False).run()
