"""The model interface every part of patchwright talks to.

A *model* turns a list of chat messages (``{"role": ..., "content": ...}``)
into a :class:`Reply`.  Two implementations exist: an OpenAI-compatible HTTP
client (:mod:`agent.models.openai_compat`, used against vLLM or llama.cpp) and
an in-process scripted model for tests (:mod:`agent.models.scripted`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypedDict, runtime_checkable

from agent.errors import PatchwrightError
from tools.tokens import estimate_tokens

__all__ = ["CheckReport", "ModelError", "Reply", "Model", "estimate_tokens", "estimate_prompt_tokens"]


class ModelError(PatchwrightError):
    """Anything that went wrong while talking to a model.

    Messages name the endpoint (``base_url``) and what went wrong, so they can
    be shown to a user as they are.  Its exit status is in agent/exits.py.
    """


@dataclass
class Reply:
    """One completion."""

    content: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    seconds: float


class CheckReport(TypedDict, total=False):
    """What ``patchwright model check`` prints; the probe keys only when asked to probe."""

    base_url: str | None
    reachable: bool
    models: list[str]
    model: str | None
    context_window: int | None
    context_window_source: str | None
    profile: str | None
    error: str | None
    probe_seconds: float
    probe_reply: str


@runtime_checkable
class Model(Protocol):
    """What the agent needs from a model: everything callers use, nothing backend-specific."""

    name: str

    def complete(self, messages: list[dict]) -> Reply: ...

    def context_window(self) -> int: ...

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes for this model (its tokenizer where it can, else an estimate)."""
        ...

    def check(self, probe: bool = False) -> CheckReport:
        """A report on the backend; never raises for backend problems (they go in ``error``)."""
        ...


def estimate_prompt_tokens(messages: list[dict]) -> int:
    """Rough token count of a chat prompt, including a few tokens of template per message."""
    total = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):  # OpenAI "content parts"
            content = " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
        total += estimate_tokens(content if isinstance(content, str) else str(content or "")) + 4
    return total + 2
