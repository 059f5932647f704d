"""The run's trajectory: every model request and reply and every node, one JSON line each,
flushed as it happens so a killed run keeps everything up to the kill. It is the one record of
the run's token usage: the report, the pull request and SWE-bench summaries read `usage()`."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import TypedDict

TRAJECTORY_FILE = "trajectory.jsonl"


class Usage(TypedDict):
    calls: int
    prompt_tokens: int
    completion_tokens: int
    model_seconds: float


class Trajectory:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    @classmethod
    def of_run(cls, run_dir: Path) -> "Trajectory":
        return cls(run_dir / TRAJECTORY_FILE)

    _lock = threading.Lock()  # agents running together (agent mode) add from their own threads

    def add(self, kind: str, **fields) -> None:
        record = {"type": kind, "time": time.time(), **fields}
        line = (json.dumps(record, default=str) + "\n").encode("utf-8")
        with self._lock, self.path.open("a+b") as f:
            # A run killed mid-write leaves a torn last line; the resumed run starts a new one
            # rather than glue its first record onto the fragment.
            if f.seek(0, 2) > 0:
                f.seek(-1, 2)
                if f.read(1) != b"\n":
                    line = b"\n" + line
            f.write(line)

    def events(self, kind: str | None = None) -> list[dict]:
        """The records, in order; a torn line (a kill mid-write) is skipped, not fatal."""
        if not self.path.exists():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line) if line.strip() else None
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and (kind is None or row.get("type") == kind):
                rows.append(row)
        return rows

    def usage(self) -> Usage:
        """Every model call of the run, resumed parts included (Deps.ask records each one)."""
        calls = self.events("model")
        return {
            "calls": len(calls),
            "prompt_tokens": sum(c.get("prompt_tokens", 0) for c in calls),
            "completion_tokens": sum(c.get("completion_tokens", 0) for c in calls),
            "model_seconds": round(sum(c.get("seconds") or 0.0 for c in calls), 2),
        }

    def tokens(self) -> int:
        """Prompt plus completion tokens of every model call: what run.budget_tokens counts."""
        usage = self.usage()
        return usage["prompt_tokens"] + usage["completion_tokens"]

    def spend(self) -> dict:
        """Tokens and wall seconds so far, the two things a run's budget limits."""
        usage = self.usage()
        return {"tokens": usage["prompt_tokens"] + usage["completion_tokens"], "prompt_tokens": usage["prompt_tokens"],
                "completion_tokens": usage["completion_tokens"], "calls": usage["calls"],
                "seconds": round(self.elapsed(), 1)}

    def elapsed(self) -> float:
        """Wall seconds since the run's first record: the clock run.budget_seconds is checked on."""
        first = next(iter(self.events()), None)
        return time.time() - first["time"] if first and "time" in first else 0.0
