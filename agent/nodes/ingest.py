"""Read the issue from its source into the one Issue model."""
from __future__ import annotations

from pathlib import Path

from agent.deps import Deps
from tools.issues import Issue, load_issue


def ingest(state: dict, deps: Deps) -> dict:
    request = state["request"]
    if request.get("issue"):  # already read by the entry point (GitHub App, SWE-bench runner)
        issue = Issue.model_validate(request["issue"])
    else:
        dataset = Path(request["dataset"]) if request.get("dataset") else None
        github = deps.settings.github.client() if request["issue_ref"].startswith("http") else None
        issue = load_issue(request["issue_ref"], dataset=dataset, github=github)
    updates = {}
    if request.get("repo"):
        updates["repo"] = request["repo"]
    if request.get("commit"):
        updates["base_commit"] = request["commit"]
    issue = issue.model_copy(update=updates)
    if not issue.repo:
        from tools.issues import IssueError

        raise IssueError(f"issue {issue.id} names no repository: pass --repo PATH_OR_URL")
    return {"issue": issue.model_dump(), "attempt": 0, "attempts": [], "exit_status": "running",
            "usage": {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0}}
