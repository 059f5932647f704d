"""The fix graph: nodes and edges only. All branching lives in the two routing functions.

The nodes' dependencies (agent.deps.Deps) come with each invocation as the LangGraph run context
(`graph.stream(..., context=deps)`), not through the compiled graph: it is the same for every run."""
from __future__ import annotations

import time

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agent.agent_mode.loop import agent_patch
from agent.agent_mode.mode import resolve_solve
from agent.deps import Deps
from agent.nodes.deliver import deliver
from agent.nodes.index import index
from agent.nodes.ingest import ingest
from agent.nodes.localize import localize
from agent.nodes.patch import patch
from agent.nodes.reproduce import reproduce
from agent.nodes.verify import verify
from agent.nodes.workspace import workspace
from agent.state import RunState


def solve(state: dict, deps: Deps) -> dict:
    """The patch step: the pipeline's edits, or agent mode's loop (a subgraph checkpointed inside
    this node) when run.solve resolves to "agent". Both write the same fields."""
    return (agent_patch if resolve_solve(deps.settings) == "agent" else patch)(state, deps)


NODES = {"ingest": ingest, "workspace": workspace, "index": index, "localize": localize, "reproduce": reproduce,
         "patch": solve, "verify": verify, "deliver": deliver}


class GraphState(RunState, total=False):
    request: dict  # agent.request.RunRequest.stored(): issue_ref, repo, commit, repos_dir (the issue is in issue.json)


def _timed(name: str, fn):
    """The node `fn(state, deps)` as a graph node, its start and time recorded in the trajectory."""
    def run(state: dict, runtime: Runtime[Deps]) -> dict:
        deps = runtime.context
        deps.trajectory.add("node_start", node=name)
        started = time.perf_counter()
        update = fn(state, deps)
        deps.trajectory.add("node", node=name, seconds=round(time.perf_counter() - started, 4),
                            exit_status=update.get("exit_status"))
        return update

    return run


def after_patch(state: dict, runtime: Runtime[Deps]) -> str:
    if state["exit_status"] == "running":
        return "verify"
    return "patch" if _may_try_again(state, runtime.context) else "deliver"


def after_verify(state: dict, runtime: Runtime[Deps]) -> str:
    if state["exit_status"] == "tests_failed" and _may_try_again(state, runtime.context):
        return "patch"
    return "deliver"


def _may_try_again(state: dict, deps: Deps) -> bool:
    """Another attempt fits in run.max_attempts and the run's budgets, run.budget_seconds and
    run.budget_tokens (deliver says which stopped it)."""
    return state["attempt"] < deps.settings.run.max_attempts and not deps.over_budget()


def build_graph(checkpointer=None):
    g = StateGraph(GraphState, context_schema=Deps)
    for name, fn in NODES.items():
        g.add_node(name, _timed(name, fn))
    g.add_edge(START, "ingest")
    for a, b in [("ingest", "workspace"), ("workspace", "index"), ("index", "localize"), ("localize", "reproduce"),
                 ("reproduce", "patch")]:
        g.add_edge(a, b)
    g.add_conditional_edges("patch", after_patch, ["verify", "patch", "deliver"])
    g.add_conditional_edges("verify", after_verify, ["patch", "deliver"])
    g.add_edge("deliver", END)
    return g.compile(checkpointer=checkpointer)
