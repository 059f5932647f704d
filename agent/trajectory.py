"""The run's trajectory: every model request and reply and every node, one JSON line each,
flushed as it happens so a killed run keeps everything up to the kill. It is the one record of
the run's token usage: the report, the pull request and SWE-bench summaries read `usage()`."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TypedDict

TRAJECTORY_FILE = "trajectory.jsonl"


class Usage(TypedDict):
    calls: int
    prompt_tokens: int
    completion_tokens: int


class Trajectory:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    @classmethod
    def of_run(cls, run_dir: Path) -> "Trajectory":
        return cls(run_dir / TRAJECTORY_FILE)

    def add(self, kind: str, **fields) -> None:
        record = {"type": kind, "time": time.time(), **fields}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str) + "\n")

    def events(self, kind: str | None = None) -> list[dict]:
        if not self.path.exists():
            return []
        rows = [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [r for r in rows if kind is None or r["type"] == kind]

    def usage(self) -> Usage:
        """Every model call of the run, resumed parts included (Deps.ask records each one)."""
        calls = self.events("model")
        return {
            "calls": len(calls),
            "prompt_tokens": sum(c.get("prompt_tokens", 0) for c in calls),
            "completion_tokens": sum(c.get("completion_tokens", 0) for c in calls),
        }
