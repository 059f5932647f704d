"""Agent mode's loop, a LangGraph subgraph run by the patch step: `begin` opens the conversation,
then `model` (one model turn per running agent: one action, or format feedback) and `tool` (each
chosen action run in its agent's tool box) alternate until the model submits, run.agent_max_steps
turns are taken, run.agent_max_format_errors malformed replies come in a row, or the budget is
spent. `finish` takes an ended agent's tool box diff as its candidate and starts the next agent.
With run.samples = N, N agents run (the first greedy, the others at run.sample_temperature),
Settings.agents_at_once() of them at a time: each of those in its own copy of the working copy
(agent_mode/copies.py) with its own tool box, their turns asked together from threads, so that a
server that batches (vLLM) answers them in about the time of one. The attempt's candidates go to
verify as the pipeline's do.

Every node is a checkpoint: the subgraph runs inside the patch node with the run's checkpointer
(LangGraph gives it its own namespace under the parent's task), so a run killed at step k resumes
at step k: the loop's state (the conversations, each step's record, the action a model turn chose)
is in the checkpoint, answered model calls are not asked again, finished tool calls are not run
again. It is written synchronously, as each node ends: a step is a model call worth keeping.

The loop's state is one dict, `loop`: attempt, tool_calls ("native" | "text"), specs (the tools),
head (the opening messages) and head_tokens, tools_tokens, slots ([index, temperature] per agent),
at_once (agents run together), agents (the finished ones: index, temperature, steps, ended, diff),
running (the agents under way, each: index, temperature, turns (agent_mode/window.py), steps,
pending (the chosen action, the reply that chose it and its tokens), format_errors (in a row),
ended, diff (after its last step)) and stopped (the budget's reason, when it stopped the attempt).
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from functools import cache
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agent import prompting
from agent.agent_mode import copies, record
from agent.agent_mode.actions import read_reply
from agent.agent_mode.mode import resolve_tool_calls, tool_choice
from agent.agent_mode.toolboxes import close, close_all, toolbox_for
from agent.agent_mode.window import fit, message_tokens
from agent.deps import Deps
from agent.nodes.candidates import Slot, made, plan, record as record_candidates, with_votes
from agent.nodes.localize import code_within
from tools.agent_tools.base import Observation, ToolSpec
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
    # Supersteps: begin, two per step (model, tool) and up to two finishes per agent; the run's own
    # limit (runner._drive) counts the parent's nodes and is too small for a long loop.
    limit = cfg.samples * (2 * cfg.agent_max_steps + 2) + 5
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
    g.add_conditional_edges("finish", after_finish, ["tool", "model", END])
    return g.compile()


def after_model(state: dict) -> str:
    running = state["loop"]["running"]
    return "finish" if any(a["ended"] for a in running) else "tool" if any(a["pending"] for a in running) else "model"


def after_tool(state: dict) -> str:
    return "finish" if any(a["ended"] for a in state["loop"]["running"]) else "model"


def after_finish(state: dict) -> str:
    running = state["loop"]["running"]
    return "tool" if any(a["pending"] for a in running) else "model" if running else END


def begin(state: dict, runtime: Runtime[Deps]) -> dict:
    deps, cfg = runtime.context, runtime.context.settings.run
    attempt = state.get("attempt", 0) + 1
    # Once per run: a later attempt keeps the first one's answer (the check costs a request).
    tool_calls = (state.get("agent") or {}).get("tool_calls") or resolve_tool_calls(deps.settings, deps.model)
    slots = plan(cfg.samples, cfg.sample_temperature, [VARIANT])
    at_once = deps.settings.agents_at_once()
    specs = [asdict(s) for s in toolbox_for(_state_of(state, 1, at_once), deps, (attempt, 1), "").specs()]
    issue = prompting.issue_text(deps, state["issue"])
    previous = state["attempts"][-1] if state.get("attempts") else {}
    head = prompting.agent_messages(
        deps, issue, state["code_shown"] if "code_shown" in state else state.get("context", ""),
        state.get("locations"), specs=specs, text_actions=tool_calls == "text", repo_map=_repo_map(state, deps),
        reproduction=prompting.reproduction_shown(deps, issue, state.get("reproduction")),
        previous_diff=previous.get("diff", ""), test_feedback=state.get("test_feedback", ""),
        code_within=lambda tokens: code_within(state, deps, tokens) if state.get("locations") else "")
    return {"loop": {
        "attempt": attempt, "tool_calls": tool_calls, "specs": specs, "head": head,
        "head_tokens": sum(message_tokens(m, deps.count_tokens) for m in head),
        "tools_tokens": deps.count_tokens(json.dumps(specs)) if tool_calls == "native" else 0,
        "slots": [[s.index, s.temperature] for s in slots], "at_once": at_once, "agents": [],
        "running": [_agent(s) for s in slots[:at_once]], "stopped": ""}}


def model(state: dict, runtime: Runtime[Deps]) -> dict:
    """A model turn for each running agent that has no action to run: the action it runs next, or
    format feedback on a reply that holds none."""
    deps, loop = runtime.context, state["loop"]
    asking = [a for a in loop["running"] if not a["ended"] and not a["pending"]]
    turns = _each(asking, lambda agent: _model_turn(deps, loop, agent))
    stopped = next((why for _, _, why in turns if why), loop["stopped"])
    for _, step, _ in turns:  # recorded in agent order, whatever order the threads finished in
        if step is not None:
            record.add(deps, loop["attempt"], step)
    return {"loop": {**loop, "running": _replaced(loop["running"], [a for a, _, _ in turns]), "stopped": stopped}}


def _model_turn(deps: Deps, loop: dict, current: dict) -> tuple[dict, dict | None, str]:
    """One agent's turn: (the agent updated, the step to record or None, the budget's reason or "")."""
    cfg = deps.settings.run
    number = len(current["steps"]) + 1
    if number > cfg.agent_max_steps:
        return {**current, "ended": f"step limit: {cfg.agent_max_steps} steps (run.agent_max_steps) without a submit"}, \
            None, ""
    if spent := deps.over_budget(after=f"at step {number} of agent {current['index']}"):
        return {**current, "ended": spent}, None, spent
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
        return {**current, "pending": {"action": action, "reply": said, **tokens}, "format_errors": 0}, None, ""
    feedback = prompting.agent_format_feedback(problem, call_ids=[c.id for c in reply.tool_calls] if native else [],
                                               tools=[s["name"] for s in loop["specs"]], text_actions=not native)
    step = record.step(number, current["index"], None, tokens, problem=problem)
    errors = current["format_errors"] + 1
    ended = (f"{errors} malformed replies in a row (run.agent_max_format_errors = {cfg.agent_max_format_errors}); "
             f"the last: {problem}") if errors >= cfg.agent_max_format_errors else ""
    return {**current, "turns": current["turns"] + [_turn(number, [said, *feedback], deps)],
            "steps": current["steps"] + [step], "format_errors": errors, "ended": ended}, step, ""


def tool(state: dict, runtime: Runtime[Deps]) -> dict:
    """Run each action a model turn chose; its output goes into that agent's conversation and the record."""
    deps, loop = runtime.context, state["loop"]
    acting = [a for a in loop["running"] if a["pending"] and not a["ended"]]
    done = _each(acting, lambda agent: _tool_call(state, deps, loop, agent))
    for _, step in done:
        record.add(deps, loop["attempt"], step)
    return {"loop": {**loop, "running": _replaced(loop["running"], [a for a, _ in done])}}


def _tool_call(state: dict, deps: Deps, loop: dict, current: dict) -> tuple[dict, dict]:
    pending, number = current["pending"], len(current["steps"]) + 1
    action = pending["action"]
    box = toolbox_for(_state_of(state, current["index"], loop["at_once"]), deps, (loop["attempt"], current["index"]),
                      current["diff"])
    observation = _refused_submit(current, action, box) or box.call(action["name"], action["arguments"])
    if not observation.ok and (before := _same_failure(current, action)):
        observation.text += "\n\n" + prompting.agent_nudge("repeated", before)
    output = prompting.agent_observation(action, observation.text, text_actions=loop["tool_calls"] == "text")
    step = record.step(number, current["index"], action, pending, observation=observation)
    return {**current, "turns": current["turns"] + [_turn(number, [pending["reply"], *output], deps)],
            "steps": current["steps"] + [step], "pending": None, "diff": box.diff(),
            "ended": f"submitted at step {number}" if observation.submitted else ""}, step


def _refused_submit(current: dict, action: dict, box) -> Observation | None:
    """A first submit with nothing changed is sent back (small models submit after edits that never
    applied); a second one ends the agent as it asks."""
    if action["name"] != "submit" or box.diff().strip():
        return None
    if any(s["tool"] == "submit" for s in current["steps"]):
        return None
    return Observation(prompting.agent_nudge("empty_submit"), ok=False)


def _same_failure(current: dict, action: dict) -> int:
    """The step number of an earlier failed call with this tool and these arguments, else 0."""
    arguments = record.arguments(action)
    for step in reversed(current["steps"]):
        if step["tool"] == action["name"] and not step.get("ok") and step.get("arguments") == arguments:
            return step["step"]
    return 0


def finish(state: dict, runtime: Runtime[Deps]) -> dict:
    """Each ended agent's candidate is its tool box's diff; then the next agents, if any and in budget."""
    deps, loop = runtime.context, state["loop"]
    agents, running = list(loop["agents"]), []
    for current in loop["running"]:
        if not current["ended"]:
            running.append(current)
            continue
        key = (loop["attempt"], current["index"])
        box = deps.toolboxes.get(key)
        diff = box.diff() if box is not None else current["diff"]  # no open box: resumed here, the diff is recorded
        close(deps, key)
        # verify applies each candidate to the base files itself: the shared copy goes back to them
        copies.release(state["workspace_dir"], current["index"], loop["at_once"])
        agents.append({"index": current["index"], "temperature": current["temperature"],
                       "steps": current["steps"], "ended": current["ended"], "diff": diff})
    started = len(agents) + len(running)
    left, stopped = loop["slots"][started:], loop["stopped"]
    if left and not stopped:
        stopped = deps.over_budget(after=f"after {len(agents)} of {len(loop['slots'])} agents")
    if not stopped:
        running += [_agent(Slot(i, t, VARIANT)) for i, t in left[:loop["at_once"] - len(running)]]
    return {"loop": {**loop, "agents": agents, "running": running, "stopped": stopped}}


def _outcome(loop: dict, deps: Deps) -> dict:
    """The patch step's update, as agent/nodes/patch.py writes it for the pipeline."""
    attempt, agents = loop["attempt"], sorted(loop["agents"], key=lambda a: a["index"])
    candidates = with_votes([made(Slot(a["index"], a["temperature"], VARIANT), diff=a["diff"],
                                  problem="" if a["diff"] else a["ended"], turns=len(a["steps"])) for a in agents])
    note = {"stopped": loop["stopped"]} if loop["stopped"] else {}
    several = {"candidates_made": len(candidates), **note} if len(loop["slots"]) > 1 else {}
    runs = [{k: a[k] for k in ("index", "temperature", "steps", "ended")} for a in agents]
    done = {"attempt": attempt, "candidates": candidates, "selection": note,
            "agent": {"attempt": attempt, "tool_calls": loop["tool_calls"], "runs": runs}}
    base = {"attempt": attempt, "solve": "agent", "tool_calls": loop["tool_calls"],
            "turns": sum(len(a["steps"]) for a in agents), **several}
    if loop["at_once"] > 1:
        base["agents_at_once"] = loop["at_once"]
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


def _replaced(running: list[dict], updated: list[dict]) -> list[dict]:
    """The running agents, each replaced by its updated self where there is one."""
    by_index = {a["index"]: a for a in updated}
    return [by_index.get(a["index"], a) for a in running]


def _each(agents: list[dict], work):
    """work(agent) for each agent, at the same time when there are several (their model calls then
    reach the server together); results in the agents' order. A failure in one is raised here."""
    if len(agents) <= 1:
        return [work(a) for a in agents]
    with ThreadPoolExecutor(max_workers=len(agents), thread_name_prefix="agent") as pool:
        return list(pool.map(work, agents))


def _state_of(state: dict, index: int, at_once: int) -> dict:
    """The run's state as agent `index`'s tool box sees it: its own working copy when agents run together."""
    return {**state, "workspace_dir": str(copies.workspace(state["workspace_dir"], index, at_once))}


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
