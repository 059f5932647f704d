"""The fix graph: nodes and edges only. All branching lives in the two routing functions."""
from __future__ import annotations

import functools
import time

from langgraph.graph import END, START, StateGraph

from agent.deps import Deps
from agent.nodes.deliver import deliver
from agent.nodes.index import index
from agent.nodes.ingest import ingest
from agent.nodes.localize import localize
from agent.nodes.patch import patch
from agent.nodes.verify import verify
from agent.nodes.workspace import workspace
from agent.state import RunState

NODES = {"ingest": ingest, "workspace": workspace, "index": index, "localize": localize, "patch": patch, "verify": verify, "deliver": deliver}


class GraphState(RunState, total=False):
    request: dict  # what the entry point asked for: issue_ref, repo, commit, dataset, repos_dir or a ready issue


def _timed(deps: Deps, name: str, fn):
    @functools.wraps(fn)
    def run(state: dict) -> dict:
        deps.trajectory.add("node_start", node=name)
        started = time.perf_counter()
        update = fn(state, deps)
        deps.trajectory.add("node", node=name, seconds=round(time.perf_counter() - started, 4),
                            exit_status=update.get("exit_status"))
        return update

    return run


def after_patch(state: dict, max_attempts: int) -> str:
    if state["exit_status"] == "running":
        return "verify"
    return "patch" if state["attempt"] < max_attempts else "deliver"


def after_verify(state: dict, max_attempts: int) -> str:
    if state["exit_status"] == "tests_failed" and state["attempt"] < max_attempts:
        return "patch"
    return "deliver"


def build_graph(deps: Deps, checkpointer=None):
    max_attempts = deps.settings.run.max_attempts
    g = StateGraph(GraphState)
    for name, fn in NODES.items():
        g.add_node(name, _timed(deps, name, fn))
    g.add_edge(START, "ingest")
    for a, b in [("ingest", "workspace"), ("workspace", "index"), ("index", "localize"), ("localize", "patch")]:
        g.add_edge(a, b)
    g.add_conditional_edges("patch", functools.partial(after_patch, max_attempts=max_attempts), ["verify", "patch", "deliver"])
    g.add_conditional_edges("verify", functools.partial(after_verify, max_attempts=max_attempts), ["patch", "deliver"])
    g.add_edge("deliver", END)
    return g.compile(checkpointer=checkpointer)
