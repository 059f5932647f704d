"""What agent mode leaves to read: each step in the trajectory ("agent_step" events) and in the
state (so the checkpoint and then the report carry it), the report's "agent" entry and the
compact list in report.md.

A step is {"step", "agent", "tool", "arguments", "observation" (capped), "ok", "prompt_tokens",
"completion_tokens"} plus the tool's extra facts; a malformed reply is a step with "tool": None and
its "format_error".
"""
from __future__ import annotations

from agent.deps import Deps
from tools.forge.markdown import code, text

# Characters of an observation, and of each argument string, kept in the record: the conversation
# holds them whole, the trajectory's model events have every request and reply.
OBSERVATION_CHARS, ARGUMENT_CHARS = 2000, 300


def step(number: int, agent: int, action: dict | None, usage: dict, *, observation=None, problem: str = "") -> dict:
    """The record of one step: the action and what it gave (an Observation), or the format problem;
    `usage` holds the step's model call's prompt_tokens and completion_tokens."""
    tokens = {"prompt_tokens": usage["prompt_tokens"], "completion_tokens": usage["completion_tokens"]}
    if action is None:
        return {"step": number, "agent": agent, "tool": None, "format_error": problem, **tokens}
    return {"step": number, "agent": agent, "tool": action["name"], "ok": observation.ok,
            "arguments": arguments(action),
            "observation": _capped(observation.text, OBSERVATION_CHARS), "truncated": observation.truncated,
            **tokens, **({"extra": observation.extra} if observation.extra else {})}


def arguments(action: dict) -> dict:
    """The action's arguments as its step records them (each string capped)."""
    return {k: _capped(v, ARGUMENT_CHARS) for k, v in action["arguments"].items()}


def add(deps: Deps, attempt: int, record: dict) -> None:
    deps.trajectory.add("agent_step", node="agent", attempt=attempt, **record)


def summary(state: dict) -> dict | None:
    """The report's "agent": the steps and end of the agent whose candidate the attempt ended with
    (verify's choice, else the last), and every agent's when there were several (run.samples)."""
    agent = state.get("agent")
    if not agent:
        return None
    runs = agent["runs"]
    chosen = (state.get("selection") or {}).get("chosen")
    shown = next((r for r in runs if r["index"] == chosen), runs[-1]) if runs else {"steps": [], "ended": ""}
    out = {"attempt": agent["attempt"], "tool_calls": agent["tool_calls"], "agent": shown.get("index"),
           "steps": shown["steps"], "ended": shown["ended"]}
    return {**out, "runs": runs} if len(runs) > 1 else out


def markdown(summary: dict | None) -> list[str]:
    """report.md's compact list: one line per step."""
    if not summary:
        return []
    lines = ["", f"## Agent (attempt {summary['attempt']}, {summary['tool_calls']} tool calls)", ""]
    for s in summary["steps"]:
        if s["tool"] is None:
            lines.append(f"{s['step']}. malformed reply: {text(s['format_error'])}")
            continue
        arguments = ", ".join(f"{k}={_capped(v, 60)!r}" for k, v in s["arguments"].items())
        first = (s["observation"].strip().splitlines() or [""])[0]
        mark = "" if s["ok"] else " (refused)"
        lines.append(f"{s['step']}. {code(s['tool'] + '(' + arguments + ')')}{mark}: {text(_capped(first, 100))}")
    return lines + ["", f"Ended: {text(summary['ended'])}."]


def _capped(value, limit: int):
    if not isinstance(value, str) or len(value) <= limit:
        return value
    return value[:limit] + f"... [{len(value) - limit} more characters]"
