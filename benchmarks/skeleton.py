"""A patch kept in a ledger without the benchmark repository's own lines.

A model's diff quotes the repository it was made on: every context line and every removed line is
the project's code, which is not ours to commit. Its skeleton keeps the headers, the hunk headers,
the added lines (the model's) and "\\ No newline" markers whole, and cuts each context or removed
line to its first character. Those lines are exactly the old file's lines the hunk header names, in
order, so `rebuild` puts them back from the repository at the instance's base commit (the mirror
every machine fetches) and checks the result against the sha256 of the original.
"""
from __future__ import annotations

import hashlib
import re
from typing import Callable

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class SkeletonError(ValueError):
    """A skeleton that does not rebuild into the patch it was made from."""


def digest(patch: str) -> str:
    return hashlib.sha256(patch.encode("utf-8", "surrogatepass")).hexdigest()


def strip(patch: str) -> str:
    """The patch with each context and removed line cut to its first character."""
    out = []
    old_left = new_left = 0
    for line in patch.split("\n"):
        if old_left or new_left:
            kind = line[:1]
            if kind in (" ", "-", ""):
                out.append(kind or " ")  # git writes " " for an empty context line; some tools write ""
                old_left -= 1
                new_left -= kind != "-"
                continue
            if kind == "+":
                new_left -= 1
            out.append(line)  # an added line, or "\ No newline at end of file"
            continue
        m = _HUNK.match(line)
        if m:
            old_left, new_left = _count(m.group(2)), _count(m.group(4))
        out.append(line)
    return "\n".join(out)


def rebuild(skeleton: str, old_file: Callable[[str], str]) -> str:
    """The patch again: `old_file(path)` is the file's text at the base commit."""
    out, old_lines, path = [], [], None
    old_left = new_left = 0
    at = 0
    for line in skeleton.split("\n"):
        if old_left or new_left:
            if line in (" ", "-"):
                if at >= len(old_lines):
                    raise SkeletonError(f"{path}: the hunk reads past the file's {len(old_lines)} lines")
                out.append(line + old_lines[at])
                at += 1
                old_left -= 1
                new_left -= line == " "
                continue
            if line.startswith("+"):
                new_left -= 1
            out.append(line)
            continue
        if line.startswith("--- "):
            path = None if line == "--- /dev/null" else line[6:] if line.startswith("--- a/") else line[4:]
            old_lines = old_file(path).split("\n") if path else []
        m = _HUNK.match(line)
        if m:
            old_left, new_left = _count(m.group(2)), _count(m.group(4))
            start = int(m.group(1))
            at = start - 1 if old_left else start  # "-5,0" inserts after line 5
        out.append(line)
    return "\n".join(out)


def _count(group: str | None) -> int:
    return 1 if group is None else int(group)
