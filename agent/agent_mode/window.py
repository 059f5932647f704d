"""The conversation as sent each turn: the opening messages (system and the warm start) always,
then the turns, older ones shrunk until all of it fits the window. So the same loop works in an 8K
and a 128K window: a small one sees placeholders where old tool output was.

A turn is {"step", "messages": [the assistant reply, the tool or feedback messages], "tokens": the
count of each message}, counted once when it is added (agent.deps.Deps.count_tokens).
"""
from __future__ import annotations

import json
from typing import Callable

from agent import prompting

# The last turns stay whole while anything older can give way: the model acts on what it just saw.
KEEP_TURNS = 2
# The chat template's tokens around each message, beyond its counted text.
MESSAGE_OVERHEAD = 4


def message_tokens(message: dict, count: Callable[[str], int]) -> int:
    """What one message takes: its text, its tool calls' JSON, the template's few tokens."""
    calls = message.get("tool_calls")
    return count((message.get("content") or "") + (json.dumps(calls) if calls else "")) + MESSAGE_OVERHEAD


def fit(head: list[dict], head_tokens: int, turns: list[dict], limit: int,
        count: Callable[[str], int]) -> tuple[list[dict], int]:
    """(messages, their tokens): head and turns within `limit`, giving way in this order: the tool
    output of turns before the last KEEP_TURNS, oldest first; that of the kept turns but the last;
    the replies of all turns but the last; then the oldest turns whole. A conversation that still
    does not fit is sent as it is, and the server says so."""
    shown = [[dict(m) for m in t["messages"]] for t in turns]
    tokens = [list(t["tokens"]) for t in turns]

    def total() -> int:
        return head_tokens + sum(map(sum, tokens))

    last = len(turns) - 1
    older = list(range(max(len(turns) - KEEP_TURNS, 0)))
    stages = [(older, _is_output), ([i for i in range(last) if i not in older], _is_output),
              (list(range(last)), _is_reply)]
    for indexes, which in stages:
        for i in indexes:
            for j, message in enumerate(shown[i]):
                if total() <= limit:
                    return _joined(head, shown), total()
                if which(message) and not message.get("elided"):
                    shown[i][j] = _elided(message, turns[i]["step"])
                    tokens[i][j] = message_tokens(shown[i][j], count)
    while total() > limit and len(shown) > 1:
        shown.pop(0)
        tokens.pop(0)
    return _joined(head, shown), total()


def _is_output(message: dict) -> bool:
    return message["role"] in ("tool", "user")


def _is_reply(message: dict) -> bool:
    return message["role"] == "assistant"


def _elided(message: dict, step: int) -> dict:
    """The message with its text replaced by a note of how much there was (a reply's tool call
    keeps its name and id, so each tool message still answers its call)."""
    text = message.get("content") or ""
    calls = message.get("tool_calls")
    size = len(text) + sum(len(c["function"]["arguments"]) for c in calls or [])
    what = "reply" if message["role"] == "assistant" else "output"
    elided = {**message, "content": prompting.agent_elided(what, step, size), "elided": True}
    if calls:
        elided["tool_calls"] = [{**c, "function": {**c["function"], "arguments": "{}"}} for c in calls]
    return elided


def _joined(head: list[dict], shown: list[list[dict]]) -> list[dict]:
    """The messages as the API takes them (without the `elided` mark)."""
    return [*head, *({k: v for k, v in m.items() if k != "elided"} for turn in shown for m in turn)]
