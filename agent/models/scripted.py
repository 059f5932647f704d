"""Deterministic models for tests and demos.

* :class:`ScriptedModel` - in-process, returns canned replies in order.
* :class:`ScriptedServer` (scripted_server.py) - a real OpenAI-compatible HTTP server replaying canned
  replies, so the genuine openai client and :class:`OpenAICompatModel` can be
  exercised end to end, including failure modes (garbage, HTTP 500, hangs).

Replies files are JSON: either a list of strings or an object
``{"replies": [...], "model": "...", "max_model_len": 8192}``.

Run as a command (blocks until interrupted)::

    python -m agent.models.scripted REPLIES.json --port 8001
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.models.base import CheckReport, ModelError, Reply, estimate_prompt_tokens, estimate_tokens
from agent.models.replies import ScriptedReply, load_replies, reply_calls, reply_cut, reply_text
from agent.models.scripted_server import ScriptedServer, main

__all__ = ["ScriptedModel", "ScriptedModelConfig", "ScriptedServer", "load_replies", "main"]


class ScriptedModel:
    """In-process :class:`~agent.models.base.Model` returning ``replies`` in order: strings are text
    answers, tool calls (agent.models.replies.tool_reply) come back as ``Reply.tool_calls``.

    Every call's messages are recorded in :attr:`requests` and its options (``n``, ``temperature``;
    ``tools`` and ``tool_choice`` when tools were given) in :attr:`options`; running out of replies
    raises :class:`ModelError`.
    """

    def __init__(self, replies: list[ScriptedReply], *, context_window: int = 8192, name: str = "scripted"):
        self.replies = list(replies)
        self.name = name
        self._context_window = context_window
        self.requests: list[list[dict]] = []
        self.options: list[dict] = []
        self._next = 0
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        return len(self.replies) - self._next

    def complete(self, messages: list[dict], *, n: int = 1, temperature: float | None = None,
                 tools: list[dict] | None = None, tool_choice: str | dict | None = None) -> Reply:
        """The next ``n`` replies in order, in one Reply as a server honouring ``n`` answers
        (``temperature``, ``tools`` and ``tool_choice`` change nothing here)."""
        with self._lock:
            self.requests.append([dict(m) for m in messages])
            tooled = {"tools": tools, "tool_choice": tool_choice} if tools else {}
            self.options.append({"n": n, "temperature": temperature, **tooled})
            if self._next + n > len(self.replies):
                raise ModelError(
                    f"scripted model {self.name!r} ran out of replies after {len(self.replies)} "
                    f"(call {len(self.requests)})"
                )
            replies = self.replies[self._next:self._next + n]
            self._next += n
            call = len(self.requests)
        texts = [reply_text(r) for r in replies]
        calls = reply_calls(replies[0], f"call_{call}_")
        return Reply(
            content=texts[0],
            prompt_tokens=estimate_prompt_tokens(messages),
            completion_tokens=sum(estimate_tokens(t) for t in texts) + sum(estimate_tokens(c.arguments) for c in calls),
            model=self.name,
            seconds=0.0,
            choices=list(texts),
            tool_calls=calls,
            cut=[reply_cut(r) for r in replies],
        )

    def context_window(self) -> int:
        return self._context_window

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)  # no tokenizer here: the same estimate a tokenizer-less server gets

    def check(self, probe: bool = False) -> CheckReport:
        """The report ``patchwright model check`` prints; a probe would spend a reply, so none is sent.
        It takes ``tools`` and can answer with calls, so it says it accepts them."""
        return {"base_url": None, "reachable": True, "models": [self.name], "model": self.name,
                "context_window": self._context_window, "context_window_source": "config", "profile": None,
                "error": None, "tool_calling": True}


class ScriptedModelConfig(BaseModel):
    """A deterministic in-process model replaying a JSON file of replies (for tests)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["scripted"] = Field("scripted", description="Selects the scripted (test) backend.")
    replies_file: Path = Field(description="JSON file: a list of replies (strings or tool calls), returned in order.")
    context_window: int = Field(8192, gt=0, description="Context window the scripted model claims to have.")

    def build(self) -> ScriptedModel:
        """Load the replies file and create the model."""
        replies, options = load_replies(self.replies_file)
        return ScriptedModel(replies, context_window=self.context_window, name=str(options.get("model", "scripted")))


if __name__ == "__main__":
    sys.exit(main())
