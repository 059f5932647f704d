"""Agent mode's loop, a LangGraph subgraph run by the patch step: `begin` opens the conversation,
then `model` (one model turn: one action, or format feedback) and `tool` (the action run in the
tool box) alternate until the model submits, run.agent_max_steps turns are taken,
run.agent_max_format_errors malformed replies come in a row, or the budget is spent. `finish`
takes the tool box's diff as the agent's candidate; with run.samples = N, N agents run one after
the other (the first greedy, the others at run.sample_temperature), and the attempt's candidates
go to verify as the pipeline's do.

Every node is a checkpoint: the subgraph runs inside the patch node with the run's checkpointer
(LangGraph gives it its own namespace under the parent's task), so a run killed at step k resumes
at step k: the loop's state (the conversation, each step's record, the action a model turn chose)
is in the checkpoint, answered model calls are not asked again, finished tool calls are not run
again. It is written synchronously, as each node ends: a step is a model call worth keeping.

The loop's state is one dict, `loop`: attempt, tool_calls ("native" | "text"), specs (the tools),
head (the opening messages) and head_tokens, tools_tokens, slots ([index, temperature] per agent),
agents (the finished ones: index, temperature, steps, ended, diff), current (the running agent:
index, temperature, turns (agent_mode/window.py), steps, pending (the chosen action, the reply that
chose it and its tokens), format_errors (in a row), ended, diff (after its last step)) and stopped
(the budget's reason, when it stopped the attempt).
"""
from __future__ import annotations

import json
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agent import prompting
from agent.agent_mode import record
from agent.agent_mode.actions import read_reply
from agent.agent_mode.mode import resolve_tool_calls, tool_choice
from agent.agent_mode.toolboxes import close, close_all, toolbox_for
from agent.agent_mode.window import fit, message_tokens
from agent.deps import Deps
from agent.nodes.candidates import Slot, made, plan, record as record_candidates, with_votes
from tools.agent_tools.base import ToolSpec
from tools.edits.diff import reset_worktree
from tools.index.repomap import repo_map

VARIANT = "agent"  # what candidates.py's `variant` says of an agent's candidate


class LoopState(TypedDict, total=False):
    # Read from the run's state (agent/state.py).
    run_id: str
    issue: dict
    workspace_dir: str
    base_commit: str
    env_image: str
    locations: dict
    code_shown: str
    context: str
    reproduction: dict
    attempt: int
    attempts: list[dict]
    test_feedback: str
    agent: dict
    # The loop's own (the module docstring says what it holds).
    loop: dict


def agent_patch(state: dict, deps: Deps) -> dict:
    """The patch step in agent mode: run the loop for this attempt (or resume it inside), then
    write what patch writes (attempt, candidates, diff, selection, attempts, exit_status) and
    `agent`, the steps for the report."""
    cfg = deps.settings.run
    given = {k: state[k] for k in LoopState.__annotations__ if k in state and k != "loop"}
    # Supersteps: begin, two per step (model, tool) and a finish per agent; the run's own limit
    # (runner._drive) counts the parent's nodes and is too small for a long loop.
    limit = cfg.samples * (2 * cfg.agent_max_steps + 1) + 5
    try:
        final = _loop().invoke(given, {"recursion_limit": limit}, context=deps, durability="sync")
    finally:
        close_all(deps)  # a tool box may hold a container; a resumed run opens a new one
    return _outcome(final["loop"], deps)


@cache
def _loop():
    g = StateGraph(LoopState, context_schema=Deps)
    for name, fn in (("begin", begin), ("model", model), ("tool", tool), ("finish", finish)):
        g.add_node(name, fn)
    g.add_edge(START, "begin")
    g.add_edge("begin", "model")
    g.add_conditional_edges("model", after_model, ["tool", "model", "finish"])
    g.add_conditional_edges("tool", after_tool, ["model", "finish"])
    g.add_conditional_edges("finish", after_finish, ["model", END])
    return g.compile()


def after_model(state: dict) -> str:
    current = state["loop"]["current"]
    return "finish" if current["ended"] else "tool" if current["pending"] else "model"


def after_tool(state: dict) -> str:
    return "finish" if state["loop"]["current"]["ended"] else "model"


def after_finish(state: dict) -> str:
    return "model" if state["loop"]["current"] else END


def begin(state: dict, runtime: Runtime[Deps]) -> dict:
    deps, cfg = runtime.context, runtime.context.settings.run
    attempt = state.get("attempt", 0) + 1
    # Once per run: a later attempt keeps the first one's answer (the check costs a request).
    tool_calls = (state.get("agent") or {}).get("tool_calls") or resolve_tool_calls(deps.settings, deps.model)
    slots = plan(cfg.samples, cfg.sample_temperature, [VARIANT])
    specs = [asdict(s) for s in toolbox_for(state, deps, (attempt, 1), "").specs()]
    issue = prompting.issue_text(deps, state["issue"])
    previous = state["attempts"][-1] if state.get("attempts") else {}
    head = prompting.agent_messages(
        deps, issue, state["code_shown"] if "code_shown" in state else state.get("context", ""),
        state.get("locations"), specs=specs, text_actions=tool_calls == "text", repo_map=_repo_map(state, deps),
        reproduction=prompting.reproduction_shown(deps, issue, state.get("reproduction")),
        previous_diff=previous.get("diff", ""), test_feedback=state.get("test_feedback", ""))
    return {"loop": {
        "attempt": attempt, "tool_calls": tool_calls, "specs": specs, "head": head,
        "head_tokens": sum(message_tokens(m, deps.count_tokens) for m in head),
        "tools_tokens": deps.count_tokens(json.dumps(specs)) if tool_calls == "native" else 0,
        "slots": [[s.index, s.temperature] for s in slots], "agents": [], "current": _agent(slots[0]), "stopped": ""}}


def model(state: dict, runtime: Runtime[Deps]) -> dict:
    """One model turn: the action to run next, or format feedback on a reply that holds none."""
    deps, cfg = runtime.context, runtime.context.settings.run
    loop, current = state["loop"], state["loop"]["current"]
    number = len(current["steps"]) + 1
    if number > cfg.agent_max_steps:
        return _ended(loop, f"step limit: {cfg.agent_max_steps} steps (run.agent_max_steps) without a submit")
    if spent := deps.over_budget(after=f"at step {number} of agent {current['index']}"):
        return _ended(loop, spent, stopped=True)
    native = loop["tool_calls"] == "native"
    limit = deps.model.context_window() - prompting.reply_tokens(deps) - loop["tools_tokens"]
    messages, _ = fit(loop["head"], loop["head_tokens"], current["turns"], limit, deps.count_tokens)
    reply = deps.ask("agent", messages, **_options(deps, loop, current))
    for i, call in enumerate(reply.tool_calls):
        call.id = call.id or f"call{number}x{i}"  # each tool message must name its call
    action, problem = read_reply(reply, loop["specs"], native=native)
    said = prompting.agent_reply(reply, native=native)
    tokens = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens}
    if action is not None:
        return _with(loop, pending={"action": action, "reply": said, **tokens}, format_errors=0)
    feedback = prompting.agent_format_feedback(problem, call_ids=[c.id for c in reply.tool_calls] if native else [],
                                               tools=[s["name"] for s in loop["specs"]], text_actions=not native)
    step = record.step(number, current["index"], None, tokens, problem=problem)
    record.add(deps, loop["attempt"], step)
    errors = current["format_errors"] + 1
    ended = (f"{errors} malformed replies in a row (run.agent_max_format_errors = {cfg.agent_max_format_errors}); "
             f"the last: {problem}") if errors >= cfg.agent_max_format_errors else ""
    return _with(loop, turns=current["turns"] + [_turn(number, [said, *feedback], deps)],
                 steps=current["steps"] + [step], format_errors=errors, ended=ended)


def tool(state: dict, runtime: Runtime[Deps]) -> dict:
    """Run the action the model chose; its output goes into the conversation and the record."""
    deps = runtime.context
    loop, current = state["loop"], state["loop"]["current"]
    pending, number = current["pending"], len(current["steps"]) + 1
    action = pending["action"]
    box = toolbox_for(state, deps, (loop["attempt"], current["index"]), current["diff"])
    observation = box.call(action["name"], action["arguments"])
    output = prompting.agent_observation(action, observation.text, text_actions=loop["tool_calls"] == "text")
    step = record.step(number, current["index"], action, pending, observation=observation)
    record.add(deps, loop["attempt"], step)
    return _with(loop, turns=current["turns"] + [_turn(number, [pending["reply"], *output], deps)],
                 steps=current["steps"] + [step], pending=None, diff=box.diff(),
                 ended=f"submitted at step {number}" if observation.submitted else "")


def finish(state: dict, runtime: Runtime[Deps]) -> dict:
    """The agent's candidate is its tool box's diff; then the next agent, if any and in budget."""
    deps = runtime.context
    loop, current = state["loop"], state["loop"]["current"]
    key = (loop["attempt"], current["index"])
    box = deps.toolboxes.get(key)
    diff = box.diff() if box is not None else current["diff"]  # no open box: resumed here, the diff is recorded
    close(deps, key)
    reset_worktree(Path(state["workspace_dir"]))  # verify applies each candidate to the base files itself
    agents = loop["agents"] + [{"index": current["index"], "temperature": current["temperature"],
                                "steps": current["steps"], "ended": current["ended"], "diff": diff}]
    left = loop["slots"][len(agents):]
    stopped = loop["stopped"]
    if left and not stopped:
        stopped = deps.over_budget(after=f"after {len(agents)} of {len(loop['slots'])} agents")
    following = _agent(Slot(left[0][0], left[0][1], VARIANT)) if left and not stopped else None
    return {"loop": {**loop, "agents": agents, "current": following, "stopped": stopped}}


def _outcome(loop: dict, deps: Deps) -> dict:
    """The patch step's update, as agent/nodes/patch.py writes it for the pipeline."""
    attempt, agents = loop["attempt"], loop["agents"]
    candidates = with_votes([made(Slot(a["index"], a["temperature"], VARIANT), diff=a["diff"],
                                  problem="" if a["diff"] else a["ended"], turns=len(a["steps"])) for a in agents])
    note = {"stopped": loop["stopped"]} if loop["stopped"] else {}
    several = {"candidates_made": len(candidates), **note} if len(loop["slots"]) > 1 else {}
    runs = [{k: a[k] for k in ("index", "temperature", "steps", "ended")} for a in agents]
    done = {"attempt": attempt, "candidates": candidates, "selection": note,
            "agent": {"attempt": attempt, "tool_calls": loop["tool_calls"], "runs": runs}}
    base = {"attempt": attempt, "solve": "agent", "tool_calls": loop["tool_calls"],
            "turns": sum(len(a["steps"]) for a in agents), **several}
    applied = [c for c in candidates if c["diff"]]
    if applied:
        return {**done, "diff": applied[0]["diff"], "exit_status": "running",
                "attempts": [{**base, "diff": applied[0]["diff"], "outcome": "applied"}]}
    record_candidates(deps, "patch", attempt, candidates)
    ended = agents[0]["ended"] if agents else loop["stopped"]
    return {**done, "diff": "", "exit_status": "patch_failed",
            "reason": f"attempt {attempt}: the agent changed nothing ({ended})",
            "attempts": [{**base, "diff": "", "outcome": "patch_failed", "problem": ended}]}


def _agent(slot: Slot) -> dict:
    return {"index": slot.index, "temperature": slot.temperature, "turns": [], "steps": [], "pending": None,
            "format_errors": 0, "ended": "", "diff": ""}


def _with(loop: dict, **changes) -> dict:
    """The update setting `changes` on the current agent."""
    return {"loop": {**loop, "current": {**loop["current"], **changes}}}


def _ended(loop: dict, reason: str, *, stopped: bool = False) -> dict:
    update = _with(loop, ended=reason)
    if stopped:
        update["loop"]["stopped"] = reason
    return update


def _turn(number: int, messages: list[dict], deps: Deps) -> dict:
    return {"step": number, "messages": messages, "tokens": [message_tokens(m, deps.count_tokens) for m in messages]}


def _options(deps: Deps, loop: dict, current: dict) -> dict:
    """The request's options: the agent's temperature (none: the model's own) and, for native
    calls, the tools and the profile's tool_choice."""
    options = {} if current["temperature"] is None else {"temperature": current["temperature"]}
    if loop["tool_calls"] == "native":
        options.update(tools=[ToolSpec(**s).openai() for s in loop["specs"]], tool_choice=tool_choice(deps.settings))
    return options


def _repo_map(state: dict, deps: Deps):
    """The repository map in `tokens`, leaning towards the files localization ranked."""
    focus = [path for path, *_ in (state.get("locations") or {}).get("files") or []]

    def within(tokens: int) -> str:
        if tokens <= 0:
            return ""
        return repo_map(deps.index_for(state["workspace_dir"]), tokens, focus=focus, count_tokens=deps.count_tokens)

    return within
