"""Parse the repository into a symbol index."""
from __future__ import annotations

from agent.deps import Deps


def index(state: dict, deps: Deps) -> dict:
    repo_index = deps.index_for(state["workspace_dir"])
    return {"index_stats": dict(repo_index.stats)}
