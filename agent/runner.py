"""Start and resume runs. A run is a directory (runs/RUN_ID) holding the request, the issue, the
LangGraph SQLite checkpoint, the trajectory, the workspace and the deliverables; errors are caught
here, once. One process at a time drives a run: it holds the run's lock file while it does."""
from __future__ import annotations

import contextlib
import fcntl
import json
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from langgraph.checkpoint.sqlite import SqliteSaver

from agent.config import Settings
from agent.deps import Deps
from agent.errors import RunError  # defined there; importable from here as before
from agent.exits import ExitStatus, classify
from agent.graph import build_graph
from agent.report import write_report
from agent.request import RunRequest, save_issue
from agent.trajectory import Trajectory, Usage

LOCK_FILE, CHECKPOINT_FILE = "run.lock", "checkpoints.sqlite"


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    state: dict

    @property
    def fixed(self) -> bool:
        return self.state.get("exit_status") == "fixed"

    @property
    def exit_code(self) -> int:
        return ExitStatus.FIXED if self.fixed else ExitStatus.NOT_FIXED

    @property
    def usage(self) -> Usage:
        return Trajectory.of_run(self.run_dir).usage()


def new_run_id(label: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", label)[-40:].strip("-") or "issue"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{secrets.token_hex(2)}"


def start_run(settings: Settings, request: RunRequest, *, run_id: str | None = None,
              on_update: Callable[[str, dict], None] | None = None, **backends) -> RunResult:
    run_id = run_id or new_run_id(request.issue.id)
    run_dir = settings.runs_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    with _run_lock(run_id, run_dir):
        save_issue(run_dir, request.issue)
        stored = request.stored()
        (run_dir / "run.json").write_text(json.dumps({"run_id": run_id, "request": stored}, indent=2), encoding="utf-8")
        return _drive(settings, run_id, run_dir, {"run_id": run_id, "request": stored}, on_update, backends)


def resume_run(settings: Settings, run_id: str, *, on_update=None, **backends) -> RunResult:
    run_dir = settings.runs_dir / run_id
    if not (run_dir / "run.json").is_file():
        raise RunError(run_id, f"no run '{run_id}' under {settings.runs_dir}")
    with _run_lock(run_id, run_dir):
        _check_checkpoint(run_id, run_dir / CHECKPOINT_FILE)
        return _drive(settings, run_id, run_dir, None, on_update, backends)


@contextlib.contextmanager
def _run_lock(run_id: str, run_dir: Path):
    """Hold the run's lock, or fail at once: two processes driving one run would interleave their
    steps in its checkpoint and trajectory. The kernel drops the lock when its holder dies."""
    with open(run_dir / LOCK_FILE, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(run_id, f"run '{run_id}' is busy: another patchwright process is running it "
                           f"(it holds {run_dir / LOCK_FILE})") from None
        yield


def _check_checkpoint(run_id: str, path: Path) -> None:
    """Fail clearly, leaving the run directory as it is, when the checkpoint cannot be resumed
    from. It is read through a read-only connection: opening it for the run would create a missing
    file, or tables in an empty one, and the run would look finished."""
    kept = f"the run directory {path.parent} is left as it is"
    if not path.is_file():
        raise RunError(run_id, f"run '{run_id}' cannot be resumed: its checkpoint {path} is missing; {kept}")
    # Even a read-only connection creates the WAL side files; those it created go again.
    sidecars = [p for p in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")) if not p.exists()]
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = SqliteSaver(conn).get_tuple({"configurable": {"thread_id": run_id}})
        finally:
            conn.close()
            for sidecar in sidecars:
                sidecar.unlink(missing_ok=True)
    except Exception as e:  # noqa: BLE001 - only reading happened: a bad database or an undecodable checkpoint
        raise RunError(run_id, f"run '{run_id}' cannot be resumed: its checkpoint {path} is corrupt "
                       f"({type(e).__name__}: {e}); {kept}") from e
    if found is None:
        raise RunError(run_id, f"run '{run_id}' cannot be resumed: its checkpoint {path} holds no state of this run; {kept}")


def _drive(settings, run_id, run_dir, initial, on_update, backends) -> RunResult:
    config = {"configurable": {"thread_id": run_id}, "recursion_limit": 100}
    conn = sqlite3.connect(run_dir / CHECKPOINT_FILE, check_same_thread=False)
    try:
        deps = Deps.create(settings, run_dir, **backends)
        graph = build_graph(SqliteSaver(conn))
        if initial is None and not graph.get_state(config).next:
            return RunResult(run_id, run_dir, graph.get_state(config).values)  # already finished
        try:
            for update in graph.stream(initial, config, stream_mode="updates", context=deps):
                for node, values in update.items():
                    if on_update:
                        on_update(node, values or {})
        except Exception as e:
            if classify(e) is None:  # not a typed stop (agent.exits): a bug, with its traceback
                raise
            state = graph.get_state(config).values
            write_report(run_dir, state, deps.trajectory, error=str(e), spend=deps.spend())
            raise RunError(run_id, str(e), cause=e) from e
        return RunResult(run_id, run_dir, graph.get_state(config).values)
    finally:
        conn.close()

