"""Replies files for the scripted model and its server: a JSON list of replies, or an object
``{"replies": [...], "model": "...", "max_model_len": 8192, "mode": "..."}``. Kept apart so that
both read them and neither imports the other for it.

A reply is a string (a text answer) or a tool call as the OpenAI ``tools`` API returns one:
``{"tool_calls": [{"name": "view", "arguments": {"path": "a.py"}}], "content": ""}`` (see
:func:`tool_reply`). Arguments given as a string are sent as that text, so a test can script
arguments that are not JSON. ``{"content": "...", "finish_reason": "length"}`` is a text answer
the server cut at max_tokens (see :func:`cut_reply`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Union

from agent.models.base import ModelError, ToolCall

__all__ = ["ScriptedReply", "cut_reply", "load_replies", "reply_calls", "reply_cut", "reply_text", "tool_reply"]

ScriptedReply = Union[str, dict]


def tool_reply(name: str, arguments: dict | str | None = None, *, content: str = "") -> dict:
    """A scripted reply calling one tool."""
    return {"content": content, "tool_calls": [{"name": name, "arguments": {} if arguments is None else arguments}]}


def cut_reply(text: str) -> dict:
    """A scripted text answer that ends where a server stopped it at max_tokens."""
    return {"content": text, "finish_reason": "length"}


def reply_cut(reply: ScriptedReply) -> bool:
    return isinstance(reply, dict) and reply.get("finish_reason") == "length"


def reply_text(reply: ScriptedReply) -> str:
    return reply if isinstance(reply, str) else str(reply.get("content") or "")


def reply_calls(reply: ScriptedReply, call_id: str) -> list[ToolCall]:
    """The reply's tool calls, their ids `call_id` plus a counter (a server makes its own ids)."""
    if isinstance(reply, str):
        return []
    calls = reply.get("tool_calls") or []
    return [ToolCall(id=f"{call_id}{i}", name=str(c["name"]), arguments=_json_text(c.get("arguments")))
            for i, c in enumerate(calls)]


def _json_text(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments or {})


def _is_reply(reply: Any) -> bool:
    if isinstance(reply, str) or reply_cut(reply) and isinstance(reply.get("content"), str):
        return True
    calls = reply.get("tool_calls") if isinstance(reply, dict) else None
    return isinstance(calls, list) and all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in calls)


def load_replies(path: str | Path) -> tuple[list[ScriptedReply], dict[str, Any]]:
    """Read a replies file; returns (replies, options) where options may hold model / max_model_len."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"scripted model: replies file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"scripted model: replies file {path} is not valid JSON: {exc}") from None
    options: dict[str, Any] = {}
    if isinstance(data, dict):
        options = {k: v for k, v in data.items() if k != "replies"}
        data = data.get("replies")
    if not isinstance(data, list) or not all(_is_reply(r) for r in data):
        raise ModelError(f"scripted model: replies file {path} must hold a list of strings, tool calls "
                         f"({{\"tool_calls\": [{{\"name\": ..., \"arguments\": {{...}}}}]}}) or cut answers "
                         f"({{\"content\": ..., \"finish_reason\": \"length\"}}), or {{\"replies\": [...]}}")
    return list(data), options
