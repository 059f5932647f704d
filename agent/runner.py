"""Start and resume runs. A run is a directory (runs/RUN_ID) holding the request, the LangGraph
SQLite checkpoint, the trajectory, the workspace and the deliverables; errors are caught here, once."""
from __future__ import annotations

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
from agent.graph import build_graph
from agent.report import write_report

EXIT_FIXED, EXIT_UNFIXED = 0, 1


class RunError(Exception):
    """A run stopped on an error; its state is kept in the checkpoint and `resume` continues it."""

    def __init__(self, run_id: str, message: str, exit_code: int):
        super().__init__(message)
        self.run_id, self.exit_code = run_id, exit_code


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
        return EXIT_FIXED if self.fixed else EXIT_UNFIXED


def new_run_id(label: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", label)[-40:].strip("-") or "issue"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{secrets.token_hex(2)}"


def start_run(settings: Settings, request: dict, *, run_id: str | None = None,
              on_update: Callable[[str, dict], None] | None = None, **backends) -> RunResult:
    label = request.get("issue", {}).get("id") or Path(request.get("issue_ref", "issue")).stem
    run_id = run_id or new_run_id(label)
    run_dir = settings.runs_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run.json").write_text(json.dumps({"run_id": run_id, "request": request}, indent=2), encoding="utf-8")
    return _drive(settings, run_id, run_dir, {"run_id": run_id, "request": request}, on_update, backends)


def resume_run(settings: Settings, run_id: str, *, on_update=None, **backends) -> RunResult:
    run_dir = settings.runs_dir / run_id
    if not (run_dir / "run.json").is_file():
        raise RunError(run_id, f"no run '{run_id}' under {settings.runs_dir}", 2)
    return _drive(settings, run_id, run_dir, None, on_update, backends)


def _drive(settings, run_id, run_dir, initial, on_update, backends) -> RunResult:
    config = {"configurable": {"thread_id": run_id}, "recursion_limit": 100}
    conn = sqlite3.connect(run_dir / "checkpoints.sqlite", check_same_thread=False)
    try:
        deps = Deps.create(settings, run_dir, **backends)
        graph = build_graph(deps, SqliteSaver(conn))
        if initial is None and not graph.get_state(config).next:
            return RunResult(run_id, run_dir, graph.get_state(config).values)  # already finished
        try:
            for update in graph.stream(initial, config, stream_mode="updates"):
                for node, values in update.items():
                    if on_update:
                        on_update(node, values or {})
        except Exception as e:
            exit_code = getattr(e, "exit_code", None)
            if exit_code is None:
                raise
            state = graph.get_state(config).values
            write_report(run_dir, state, deps.trajectory, error=str(e))
            raise RunError(run_id, str(e), exit_code) from e
        return RunResult(run_id, run_dir, graph.get_state(config).values)
    finally:
        conn.close()

