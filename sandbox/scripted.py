"""A deterministic sandbox for tests and demos without Docker: `run` answers from a script.

Nothing runs: repository code never executes on the host, so the answers are given, in order,
like the scripted model's replies. Select it with `[sandbox] type = "scripted"` and one
`[[sandbox.results]]` table per test run (the run before the patch, then one per attempt).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .base import ExecResult, SandboxError

ENV = "scripted"  # the environment `prepare` returns: there is no image to build


class ScriptedResult(BaseModel):
    """One scripted test run, as the sandbox would have read it back."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    exit_code: int | None = 0
    """The command's exit status; None means it was killed for the timeout."""
    output: str = ""
    """Combined stdout and stderr (pytest's -rA summary lines are parsed when there is no JUnit XML)."""
    junit_xml: str | None = None
    """The JUnit XML the command wrote, if any."""
    timed_out: bool = False
    """The run hit its timeout."""
    oom_killed: bool = False
    """The run ran out of memory."""

    def result(self) -> ExecResult:
        return ExecResult(self.exit_code, self.output, timed_out=self.timed_out, oom_killed=self.oom_killed,
                          junit_xml=self.junit_xml)


class ScriptedSandboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    type: Literal["scripted"] = "scripted"
    """Selects the scripted (test) sandbox: nothing runs, `results` answer in order."""
    results: list[ScriptedResult] = []
    """The answers to successive test runs; a run past the last one is a SandboxError."""
    test_timeout: float = 600
    """Seconds the test feedback says a run may take (nothing is timed here)."""

    def build(self, run_id: str | None = None) -> ScriptedSandbox:
        return ScriptedSandbox([r.result() for r in self.results], run_id=run_id or "")


class ScriptedSandbox:
    """A sandbox.base.Sandbox replaying `results`; every call is kept in `calls` for assertions."""

    def __init__(self, results: list[ExecResult], *, run_id: str = ""):
        self.results = list(results)
        self.run_id = run_id
        self.calls: list[dict] = []
        self._next = 0
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        return len(self.results) - self._next

    def prepare(self, repo_dir: Path, install: list[str]) -> str:
        self.calls.append({"call": "prepare", "repo_dir": Path(repo_dir), "install": list(install)})
        return ENV

    def run(self, env: str, repo_dir: Path, command: str, *, timeout: float | None = None,
            junit_path: str | None = "/tmp/junit.xml") -> ExecResult:
        with self._lock:
            self.calls.append({"call": "run", "env": env, "repo_dir": Path(repo_dir), "command": command})
            if self._next >= len(self.results):
                # A SandboxError, not a failing test: a script too short must not read as evidence.
                raise SandboxError(f"scripted sandbox ran out of results after {len(self.results)} "
                                   f"(run {self._next + 1})")
            self._next += 1
            return self.results[self._next - 1]
