"""What an entry point asks a run to do, and where the run keeps the issue it asked about.

Every entry point (CLI, demo, GitHub App, SWE-bench) loads the issue itself, so bad input fails
before a run exists. The whole issue goes to the run directory once (issue.json); the request as
run.json and every checkpoint keep it (`stored()`) names no issue, so a huge issue is not stored
again at each step."""
from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, Field

from tools.issue_sources import Issue, IssueError

ISSUE_FILE = "issue.json"


class RunRequest(BaseModel):
    """The issue, loaded, and where its code lives; start_run takes nothing else."""

    issue: Issue
    issue_ref: str = Field(description="The issue as it was named: a path, a URL or swebench:ID.")
    repo: str | None = Field(default=None, description="Repository path or clone URL; overrides the issue's.")
    commit: str | None = Field(default=None, description="Base commit; overrides the issue's.")
    repos_dir: str | None = Field(default=None, description="Folder of bare git mirrors to clone from.")

    def stored(self) -> dict:
        """The request as run.json and the run state keep it: JSON, without the issue (save_issue)."""
        return self.model_dump(exclude={"issue"})

    @classmethod
    def from_stored(cls, stored: dict, run_dir: Path) -> "RunRequest":
        """The request back from its stored form and the run's issue file. Requests stored before
        issue 11 also name that file (`issue_file`, always ISSUE_FILE): the key is ignored."""
        return cls.model_validate({**stored, "issue": read_issue(run_dir)})


def save_issue(run_dir: Path, issue: Issue) -> None:
    path = run_dir / ISSUE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(issue.model_dump()), encoding="utf-8")
    os.replace(tmp, path)  # a run killed while writing keeps the previous file, never half of one


def read_issue(run_dir: Path) -> Issue:
    path = run_dir / ISSUE_FILE
    try:
        return Issue.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IssueError(f"cannot read the run's issue file {path}: {e}") from e
