"""Take the issue the entry point loaded (agent.request) into the state, with the request's
repository and commit applied.

The whole issue is kept once, in the run directory (issue.json); the state, which every checkpoint
stores again, keeps a copy cut to a bound. Prompts cut it further (agent.prompting.issue_text)."""
from __future__ import annotations

from agent.deps import Deps
from agent.prompting import MAX_ISSUE_TOKENS
from agent.request import RunRequest
from tools.issue_sources import IssueError, cut_text

# More than any prompt shows (prompting.issue_text cuts from 4 characters a token down) and enough
# to rank on, small enough that a copy in each of a run's checkpoints costs little.
STATE_ISSUE_CHARS, STATE_TITLE_CHARS = 5 * MAX_ISSUE_TOKENS, 1_000


def ingest(state: dict, deps: Deps) -> dict:
    request = RunRequest.from_stored(state["request"], deps.run_dir)
    issue = request.issue
    updates = {"title": cut_text(issue.title, STATE_TITLE_CHARS), "body": cut_text(issue.body, STATE_ISSUE_CHARS)}
    if request.repo:
        updates["repo"] = request.repo
    if request.commit:
        updates["base_commit"] = request.commit
    issue = issue.model_copy(update=updates)
    if not issue.repo:
        raise IssueError(f"issue {issue.id} names no repository: pass --repo PATH_OR_URL")
    return {"issue": issue.model_dump(), "attempt": 0, "exit_status": "running"}
