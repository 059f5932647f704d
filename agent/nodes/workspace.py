"""A fresh working copy at the base commit, holding nothing newer."""
from __future__ import annotations

from pathlib import Path

from agent.deps import Deps
from tools.git import create_workspace, ensure_mirror, resolve_source


def workspace(state: dict, deps: Deps) -> dict:
    issue = state["issue"]
    repos_dir = state["request"].get("repos_dir")
    source = resolve_source(issue["repo"], Path(repos_dir) if repos_dir else None)
    mirror = ensure_mirror(source, deps.settings.mirrors_dir)
    dest = deps.run_dir / "workspace"
    sha = create_workspace(mirror, issue.get("base_commit"), dest)
    return {"workspace_dir": str(dest), "base_commit": sha}
