"""The fixed label set and strict parsing of the model's answer: one word from the set, or nothing."""
from __future__ import annotations

import re

LABELS = ("bug", "feature", "question", "docs")


def parse_label(reply: str | None) -> str | None:
    """'bug' / 'Label: bug' / '`bug`.' -> 'bug'; anything else (two labels, prose, unknown) -> None."""
    text = (reply or "").strip().strip("`*.\"' \n").lower()
    text = re.sub(r"^(label|type)\s*:\s*", "", text).strip("`*.\"' ")
    return text if text in LABELS else None
