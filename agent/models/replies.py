"""Replies files for the scripted model and its server: a JSON list of strings, or an object
``{"replies": [...], "model": "...", "max_model_len": 8192, "mode": "..."}``. Kept apart so that
both read them and neither imports the other for it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.models.base import ModelError

__all__ = ["load_replies"]


def load_replies(path: str | Path) -> tuple[list[str], dict[str, Any]]:
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
    if not isinstance(data, list) or not all(isinstance(r, str) for r in data):
        raise ModelError(f"scripted model: replies file {path} must hold a list of strings (or {{\"replies\": [...]}})")
    return list(data), options
