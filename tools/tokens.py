"""The one fallback token estimator, for when no model's tokenizer is at hand.

Code tokenises at roughly 3 characters a token (English prose nearer 4); erring high keeps a
prompt budgeted with this estimate inside the context window whichever tokenizer reads it.
Everything that budgets text takes a `count_tokens(text) -> int` callable and defaults to this.
"""
from __future__ import annotations

from typing import Callable

CHARS_PER_TOKEN = 3

CountTokens = Callable[[str], int]
"""How a budget measures text: the model's tokenizer (agent.models.Model.count_tokens) or the estimate."""


def estimate_tokens(text: str | None) -> int:
    """Tokens `text` takes at most, roughly: one per CHARS_PER_TOKEN characters, plus one."""
    if not text:
        return 0
    return len(text) // CHARS_PER_TOKEN + 1
