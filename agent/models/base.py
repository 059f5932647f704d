"""The model interface every part of patchwright talks to.

A *model* turns a list of chat messages (``{"role": ..., "content": ...}``)
into a :class:`Reply`.  Two implementations exist: an OpenAI-compatible HTTP
client (:mod:`agent.models.openai_compat`, used against vLLM or llama.cpp) and
an in-process scripted model for tests (:mod:`agent.models.scripted`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypedDict, runtime_checkable

from agent.errors import PatchwrightError
from tools.tokens import estimate_tokens

__all__ = ["CheckReport", "ModelError", "Reply", "Model", "ToolCall", "estimate_tokens", "estimate_prompt_tokens"]


class ModelError(PatchwrightError):
    """Anything that went wrong while talking to a model.

    Messages name the endpoint (``base_url``) and what went wrong, so they can
    be shown to a user as they are.  Its exit status is in agent/exits.py.
    """


@dataclass
class ToolCall:
    """A function call the server parsed out of the model's answer (OpenAI ``tools`` API)."""

    id: str
    name: str
    arguments: str  # the model's JSON text, as sent: it may not parse, and the model can be told so

    def parsed(self) -> dict | None:
        """The arguments as a JSON object, or None when the model wrote something else."""
        import json

        try:
            value = json.loads(self.arguments or "{}")
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


@dataclass
class Reply:
    """One completion request: its first answer, every answer when several were sampled, and
    the request's whole token usage (all samples, however many requests it took)."""

    content: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    seconds: float
    choices: list[str] = field(default_factory=list)  # every sample's text; [content] for one
    tool_calls: list[ToolCall] = field(default_factory=list)  # the first answer's parsed calls
    # Per choice: the server stopped it at max_tokens (finish_reason "length"), so it ends mid-answer.
    cut: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.choices:
            self.choices = [self.content]
        if not self.cut:
            self.cut = [False] * len(self.choices)


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
    engine: str                    # "vllm", "llama.cpp (llama-cpp-python)" or "unknown" (agent.models.engine_info)
    engine_version: str | None
    max_model_len: int | None      # as the server lists it on /v1/models
    tool_calling: bool | None      # the server parses tool calls (None: cannot tell)
    tool_call_parser: str | None   # from patchwright's launch record of the server, when it started it
    prefix_caching: bool | None
    launched_by: str
    probe_seconds: float
    probe_reply: str


@runtime_checkable
class Model(Protocol):
    """What the agent needs from a model: everything callers use, nothing backend-specific."""

    name: str

    def complete(self, messages: list[dict], *, n: int = 1, temperature: float | None = None,
                 tools: list[dict] | None = None, tool_choice: str | dict | None = None) -> Reply:
        """One request. ``n`` samples (``Reply.choices``), at ``temperature`` (default: the config's);
        ``tools``/``tool_choice`` as in OpenAI's API, the calls coming back in ``Reply.tool_calls``."""
        ...

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
