"""The sandbox contract: what the agent needs from an isolated test runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


class SandboxError(Exception):
    """The sandbox layer's root: the sandbox itself failed (daemon down, image build broke, ...).

    Distinct from a failing test: the agent must not read this as evidence
    about the patch, so the CLI stops with its own exit status instead
    (agent/exits.py; the whole tree of errors is drawn in agent/errors.py).
    """


@dataclass
class ExecResult:
    exit_code: int | None  # None when killed for timeout
    output: str  # combined stdout+stderr (decoded utf-8, errors="replace")
    timed_out: bool = False
    oom_killed: bool = False
    duration: float = 0.0
    junit_xml: str | None = None  # JUnit XML written by the command, if any
    # What was cut when read back, with sizes ("output: N bytes, kept the last M"), for the report.
    truncated: list[str] = field(default_factory=list)


@runtime_checkable
class Sandbox(Protocol):
    run_id: str
    """Names the run in every container's labels, so an orphan can be traced to its run."""

    def prepare(self, repo_dir: Path, install: list[str]) -> str:
        """Build (or reuse from cache) an environment image; return its tag."""
        ...

    def run(
        self,
        env: str,
        repo_dir: Path,
        command: str,
        *,
        timeout: float | None = None,
        junit_path: str | None = "/tmp/junit.xml",
    ) -> ExecResult:
        """Run `command` offline against the current contents of `repo_dir`."""
        ...
