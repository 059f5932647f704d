"""The model interface every part of patchwright talks to.

A *model* turns a list of chat messages (``{"role": ..., "content": ...}``)
into a :class:`Reply`.  Two implementations exist: an OpenAI-compatible HTTP
client (:mod:`agent.models.openai_compat`, used against vLLM or llama.cpp) and
an in-process scripted model for tests (:mod:`agent.models.scripted`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["ModelError", "Reply", "Model", "estimate_tokens", "estimate_prompt_tokens"]


class ModelError(Exception):
    """Anything that went wrong while talking to a model.

    Messages name the endpoint (``base_url``) and what went wrong, so they can
    be shown to a user as they are.  The CLI exits with :attr:`exit_code`.
    """

    exit_code = 3


@dataclass
class Reply:
    """One completion."""

    content: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    seconds: float


@runtime_checkable
class Model(Protocol):
    """What the agent needs from a model."""

    name: str

    def complete(self, messages: list[dict]) -> Reply: ...

    def context_window(self) -> int: ...


def estimate_tokens(text: str | None) -> int:
    """Rough token count (about 4 characters per token for code and English)."""
    if not text:
        return 0
    return max(1, (len(text) + 3) // 4)


def estimate_prompt_tokens(messages: list[dict]) -> int:
    """Rough token count of a chat prompt, including a few tokens of template per message."""
    total = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):  # OpenAI "content parts"
            content = " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
        total += estimate_tokens(content if isinstance(content, str) else str(content or "")) + 4
    return total + 2
