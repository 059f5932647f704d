"""Fixability from factors visible in the issue, each factor scored and kept so the table and
report can show why an issue ranks where it does. Weights sum to 1.0 at most."""
from __future__ import annotations

import re

WEIGHTS = {"reproduction": 0.25, "stack_trace": 0.25, "localizable": 0.2, "small_change": 0.15, "labels": 0.15}

_CODE_BLOCK = re.compile(r"```")
_TRACE = re.compile(r"Traceback \(most recent call last\)|^\s+at [\w.$]+\(|panicked at|^\w+(Error|Exception): ",
                    re.MULTILINE)
_PATH = re.compile(r"\b[\w./-]+\.(?:py|js|ts|tsx|go|java|rs|rb|toml|cfg|md)\b")
_REPRO = re.compile(r"\b(steps to reproduce|to reproduce|reproduc\w+|minimal example|expected|actual)\b", re.IGNORECASE)
_BIG = re.compile(r"\b(redesign|rewrite|refactor|architecture|support for|new backend|plugin system|migrate)\b", re.IGNORECASE)
_SMALL = re.compile(r"\b(typo|off[- ]by[- ]one|wrong default|should return|returns? None|crash(es)?|raises?)\b", re.IGNORECASE)
_GOOD_LABELS = {"bug", "good first issue", "confirmed", "regression"}
_BAD_LABELS = {"wontfix", "needs-info", "question", "discussion", "blocked"}


def files_mentioned(text: str) -> set[str]:
    return {m.split("/")[-1] for m in _PATH.findall(text or "") if "site-packages" not in m}


def factors(issue: dict, comments: list[str] = (), label: str | None = None) -> dict[str, float]:
    """Each factor in [0, 1] (before weighting)."""
    text = "\n".join([issue.get("body") or "", *comments])
    files = files_mentioned(text)
    labels = {x.lower() for x in issue.get("labels", [])} | ({label} if label else set())
    out = {
        "reproduction": 1.0 if _CODE_BLOCK.search(text) and _REPRO.search(text) else 0.5 if _CODE_BLOCK.search(text) or _REPRO.search(text) else 0.0,
        "stack_trace": 1.0 if _TRACE.search(text) else 0.0,
        "localizable": 1.0 if 1 <= len(files) <= 3 else 0.5 if len(files) > 3 else 0.0,
        "small_change": 0.0 if _BIG.search(text) else 1.0 if _SMALL.search(text) else 0.5,
        "labels": 0.0 if labels & _BAD_LABELS else 1.0 if labels & _GOOD_LABELS else 0.5,
    }
    if label in ("question", "feature"):
        out["labels"] = 0.0
    return out


def score(found: dict[str, float]) -> float:
    return round(sum(WEIGHTS[k] * v for k, v in found.items()), 3)
