"""Parse aider-style SEARCH/REPLACE blocks from model output."""
from __future__ import annotations

import re
from dataclasses import dataclass

from tools.errors import PatchApplyError

_HEAD = re.compile(r"^<{5,9} SEARCH\s*$")
_DIVIDER = re.compile(r"^={5,9}\s*$")
_UPDATED = re.compile(r"^>{5,9} REPLACE\s*$")
_FENCE = "```"
# The "   12 | " our code listings put before each line; small models copy it into their edits.
NUMBERED = re.compile(r"^[ \t]*\d+ \| ?", re.MULTILINE)
# The " (score 3.05)" our listings' file headers carry (tools/localize/render.py); copied after a path.
_SCORED = re.compile(r"\s*\(score -?[0-9.]+\)$")
# A markdown list's marker before a path in a heading or item: "### 1. `pkg/a.py`", "- pkg/a.py".
_ENUMERATED = re.compile(r"^(?:\d+[.)]|[-*+])\s+")


@dataclass
class EditBlock:
    path: str
    search: str
    replace: str


def parse_blocks(text: str) -> list[EditBlock]:
    lines = split_lines(text)
    blocks: list[EditBlock] = []
    current: str | None = None  # aider reuses the previous filename when a block omits it
    i = 0
    while i < len(lines):
        if not _HEAD.match(lines[i].rstrip("\r\n")):
            i += 1
            continue
        path = _find_filename(lines[max(0, i - 3):i]) or current
        if not path:
            raise PatchApplyError(
                f"SEARCH/REPLACE block at line {i + 1} has no file path: put the path alone on "
                "the line before <<<<<<< SEARCH")
        search, i = _collect(lines, i + 1, _DIVIDER, "=======", stray=_UPDATED)
        replace, i = _collect(lines, i + 1, _UPDATED, ">>>>>>> REPLACE")
        blocks.append(EditBlock(path=path, search="".join(search), replace="".join(replace)))
        current = path
        i += 1
    if not blocks:
        raise PatchApplyError(
            "no SEARCH/REPLACE blocks found: write each edit as the file path on its own line, "
            "then <<<<<<< SEARCH, the exact old lines, =======, the new lines, >>>>>>> REPLACE")
    return blocks


def _collect(lines: list[str], i: int, end: re.Pattern, marker: str,
             stray: re.Pattern | None = None) -> tuple[list[str], int]:
    start = i
    while i < len(lines) and not end.match(lines[i].rstrip("\r\n")):
        if _HEAD.match(lines[i].rstrip("\r\n")):
            break
        if stray is not None and stray.match(lines[i].rstrip("\r\n")):
            # Small models close the block before writing its new half; say so, not "no match".
            raise PatchApplyError(f"SEARCH/REPLACE block starting near line {start} has >>>>>>> REPLACE "
                                  f"before its ======= line: the order is <<<<<<< SEARCH, the old lines, "
                                  f"=======, the new lines, >>>>>>> REPLACE")
        i += 1
    if i >= len(lines) or not end.match(lines[i].rstrip("\r\n")):
        raise PatchApplyError(f"SEARCH/REPLACE block starting near line {start} is missing "
                              f"its {marker} line")
    return lines[start:i], i


def _find_filename(before: list[str]) -> str | None:
    """Look back up to 3 lines, past fence openers like ```python, for the path (as aider does)."""
    for line in reversed(before):
        line = line.strip()
        name = _strip_filename(line)
        if name:
            return name
        if not line.startswith(_FENCE):
            return None
    return None


def _strip_filename(line: str) -> str | None:
    if not line or line == "...":
        return None
    if line.startswith(_FENCE):
        rest = line[len(_FENCE):].strip()
        return rest if rest and ("." in rest or "/" in rest) and " " not in rest else None
    line = _ENUMERATED.sub("", line.lstrip("#").strip())
    name = _SCORED.sub("", line).rstrip(":").strip().strip("`").strip("*").strip()
    # Needing a '.' or '/' keeps prose like "Fix:" from being taken for a file name.
    return name if name and " " not in name and ("." in name or "/" in name) else None


def split_lines(text: str) -> list[str]:
    """Split on newlines only: str.splitlines also breaks at form feeds, shifting line numbers."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
