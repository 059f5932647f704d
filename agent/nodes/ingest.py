"""Read the issue from its source into the one Issue model.

The whole issue is kept once, in the run directory (issue.json); the state, which every checkpoint
stores again, keeps a copy cut to a bound. Prompts cut it further (Deps.issue_text)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from agent.deps import MAX_ISSUE_TOKENS, Deps
from tools.issues import Issue, IssueError, cut_text, load_issue

ISSUE_FILE = "issue.json"
# More than any prompt shows (Deps.issue_text cuts from 4 characters a token down) and enough to
# rank on, small enough that a copy in each of a run's checkpoints costs little.
STATE_ISSUE_CHARS, STATE_TITLE_CHARS = 5 * MAX_ISSUE_TOKENS, 1_000


def save_issue(run_dir: Path, issue: dict) -> None:
    path = run_dir / ISSUE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(issue), encoding="utf-8")
    os.replace(tmp, path)  # a run killed while writing keeps the previous file, never half of one


def ingest(state: dict, deps: Deps) -> dict:
    request = state["request"]
    if request.get("issue_file"):  # read by the entry point (CLI, GitHub App, SWE-bench); see start_run
        path = deps.run_dir / request["issue_file"]
        try:
            issue = Issue.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise IssueError(f"cannot read the run's issue file {path}: {e}") from e
    elif request.get("issue"):  # a run started before issue.json existed
        issue = Issue.model_validate(request["issue"])
    else:
        dataset = Path(request["dataset"]) if request.get("dataset") else None
        github = deps.settings.github.client() if request["issue_ref"].startswith("http") else None
        issue = load_issue(request["issue_ref"], dataset=dataset, github=github)
        save_issue(deps.run_dir, issue.model_dump())
    updates = {"title": cut_text(issue.title, STATE_TITLE_CHARS), "body": cut_text(issue.body, STATE_ISSUE_CHARS)}
    if request.get("repo"):
        updates["repo"] = request["repo"]
    if request.get("commit"):
        updates["base_commit"] = request["commit"]
    issue = issue.model_copy(update=updates)
    if not issue.repo:
        raise IssueError(f"issue {issue.id} names no repository: pass --repo PATH_OR_URL")
    return {"issue": issue.model_dump(), "attempt": 0, "attempts": [], "exit_status": "running",
            "usage": {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0}}
