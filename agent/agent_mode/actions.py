"""One action from one model reply: a native tool call (the OpenAI `tools` API), or in text mode a
fenced block

    ```tool
    {"name": "view", "arguments": {"path": "src/app.py"}}
    ```

read leniently, because small models get JSON slightly wrong: newlines written raw inside strings,
a trailing comma, Python quotes, "arguments" missing (no arguments) or given as a JSON string, a
bare tool name, a ```json block or a <tool_call> tag instead of ```tool. What cannot be read, two
actions, an unknown tool or arguments that do not fit the tool's schema come back as a problem for
the format feedback, never as an exception.

An action is a dict, so the checkpoint carries it: {"name", "arguments", "id"} ("id": the native
call's id, "" for a text action).
"""
from __future__ import annotations

import ast
import json
import re

from agent.models.base import Reply

# An opening fence, its info word, the body, then the same fence closing it (or the reply's end:
# a reply cut at max_tokens still holds a whole action more often than not).
_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[\w-]*)[^\n]*\n"
                    r"(?P<body>.*?)(?:^[ \t]*(?P=fence)[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_TAG = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|\Z)", re.DOTALL)  # what Qwen and Hermes models write
_BARE_NAME = re.compile(r"^[A-Za-z_][\w-]*$")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_ARGUMENT_KEYS = ("arguments", "parameters", "args", "input")
_JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}


def read_reply(reply: Reply, specs: list[dict], *, native: bool) -> tuple[dict | None, str]:
    """(action, "") or (None, problem). A native reply without tool calls is read as text: models
    that write their call as a code block instead are common, and the call is as good."""
    if native and reply.tool_calls:
        if len(reply.tool_calls) > 1:
            return None, f"{len(reply.tool_calls)} tool calls in one reply; call exactly one tool per reply"
        call = reply.tool_calls[0]
        arguments = _arguments(call.arguments)
        if arguments is None:
            return None, f"the arguments of {call.name} are not a JSON object: {_short(call.arguments)}"
        return _checked({"name": call.name, "arguments": arguments, "id": call.id}, specs)
    return read_text(reply.content, specs)


def read_text(text: str, specs: list[dict]) -> tuple[dict | None, str]:
    """The one action of a text reply, or why there is none."""
    blocks = _blocks(text)
    if not blocks:
        return None, "no action found: end the reply with exactly one ```tool block"
    if len(blocks) > 1:
        return None, f"{len(blocks)} actions in one reply; write exactly one ```tool block per reply"
    action = _action(blocks[0])
    if action is None:
        return None, f"the ```tool block is not a JSON object with a \"name\": {_short(blocks[0])}"
    if isinstance(action, str):
        return None, action
    return _checked(action, specs)


def _blocks(text: str) -> list[str]:
    """The candidate actions: ```tool blocks; failing those, ```json (or unlabelled) blocks that hold
    a call, <tool_call> tags, or the whole reply when it is one JSON object."""
    fenced = [(m.group("info").lower(), m.group("body").strip()) for m in _FENCE.finditer(text or "")]
    tools = [body for info, body in fenced if info == "tool"]
    if tools:
        return tools
    calls = [body for info, body in fenced if info in ("json", "") and isinstance(_action(body), dict)]
    if calls:
        return calls
    tags = [m.group(1) for m in _TAG.finditer(text or "")]
    if tags:
        return tags
    whole = (text or "").strip()
    return [whole] if whole.startswith("{") and isinstance(_action(whole), dict) else []


def _action(body: str) -> dict | str | None:
    """The action a block holds; a str says what is wrong with it; None: not a call at all."""
    body = body.strip()
    if _BARE_NAME.match(body):
        return {"name": body, "arguments": {}, "id": ""}
    value = _loads(body)
    if isinstance(value, dict) and isinstance(value.get("function"), dict):  # OpenAI's own shape
        value = value["function"]
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    given = next((value[k] for k in _ARGUMENT_KEYS if k in value), {})
    arguments = _arguments(given) if isinstance(given, str) else given
    if arguments is None or not isinstance(arguments, dict):
        return f"the arguments of {value['name']} must be a JSON object, not {_short(json.dumps(given, default=str))}"
    return {"name": value["name"], "arguments": arguments, "id": ""}


def _arguments(text: str) -> dict | None:
    value = _loads(text or "{}")
    return value if isinstance(value, dict) else None


def _loads(text: str):
    """JSON, accepting raw control characters in strings (strict=False) and trailing commas; else
    a Python literal (single quotes, True); else None."""
    for attempt in (text, _TRAILING_COMMA.sub(r"\1", text)):
        try:
            return json.loads(attempt, strict=False)
        except ValueError:
            pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _checked(action: dict, specs: list[dict]) -> tuple[dict | None, str]:
    """The action if its tool exists and its arguments fit the schema (required keys present,
    declared types; a number written as a string is taken as the number)."""
    spec = next((s for s in specs if s["name"] == action["name"]), None)
    if spec is None:
        return None, f"unknown tool {action['name']!r}; the tools are: {', '.join(s['name'] for s in specs)}"
    schema = spec.get("parameters") or {}
    properties = schema.get("properties") or {}
    arguments = dict(action["arguments"])
    missing = [k for k in schema.get("required") or [] if k not in arguments]
    if missing:
        return None, f"{action['name']} needs the argument(s) {', '.join(missing)}"
    for key, value in arguments.items():
        wanted = (properties.get(key) or {}).get("type")
        if wanted in ("integer", "number") and isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            arguments[key] = value = int(value)
        python = _JSON_TYPES.get(wanted) if isinstance(wanted, str) else None
        if python and (not isinstance(value, python) or (wanted != "boolean" and isinstance(value, bool))):
            given = _short(json.dumps(value, default=str))
            return None, f"argument {key} of {action['name']} must be a {wanted}, not {given}"
    return {**action, "arguments": arguments}, ""


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
