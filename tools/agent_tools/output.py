"""How tool output is shown: numbered lines (the format the edit tools understand when a model
copies it back) and caps that always say what they cut."""
from __future__ import annotations

LINE_WIDTH = 1000  # characters of one line shown; minified files have lines of megabytes


def clip(line: str, width: int = LINE_WIDTH) -> str:
    """One line, cut to `width` characters with the cut said."""
    if len(line) <= width:
        return line
    return f"{line[:width]} [... {len(line) - width} more characters on this line]"


def numbered(lines: list[str], first: int) -> list[str]:
    """Lines as "   12 | text", `first` being the number of the first (tools/edits/blocks.py
    NUMBERED strips this prefix when a model copies it into an edit)."""
    return [f"{n:>5} | {clip(line.rstrip(chr(10)).rstrip(chr(13)))}" for n, line in enumerate(lines, first)]


def fit(lines: list[str], max_lines: int, max_chars: int) -> int:
    """How many of `lines` (from the first) fit in `max_lines` and `max_chars`; at least one."""
    used = 0
    for k, line in enumerate(lines[:max_lines]):
        used += len(line) + 1
        if used > max_chars and k:
            return k
    return min(len(lines), max_lines)
