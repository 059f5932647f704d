"""Parse FUNCTION blocks from model output (function_rewrite.py applies them): a header line naming
a file and a definition, then one fenced code block holding the definition's complete new text.

    FUNCTION textkit/numbers.py::clamp
    ```python
    def clamp(value, low, high):
        return max(low, min(value, high))
    ```
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from tools.edits.blocks import NUMBERED, split_lines
from tools.errors import PatchApplyError

# The markdown models wrap a header in (###, **, backticks) and a copied signature are let through.
_HEADER = re.compile(r"^[\s#*>`]*FUNCTION\b[\s:`*]*(?P<path>[^\s`*:]+)\s*::\s*(?P<name>[A-Za-z_][\w.]*)"
                     r"(?:\(.*\))?[\s`*:]*$")
_NO_PATH = re.compile(r"^[\s#*>`]*FUNCTION\s+[^\s:]+[\s`*]*$")  # "FUNCTION clamp"
_FENCE = re.compile(r"^\s*```")
_CLOSE = re.compile(r"^\s*```\s*$")
_FORMAT = ("write each rewrite as a line `FUNCTION path/to/file.py::name` (`Class.method` for a method, "
          "`outer.inner` for a nested function), then a ```python code block holding the complete new "
          "definition")


@dataclass
class FunctionRewrite:
    path: str
    qualname: str
    code: str


def parse_rewrites(text: str) -> list[FunctionRewrite]:
    lines = [ln.rstrip("\r\n") for ln in split_lines(text)]
    rewrites: list[FunctionRewrite] = []
    in_fence, i = False, 0
    while i < len(lines):
        head = _HEADER.match(lines[i])
        if head:
            # A header written as the code block's first line: the block is already open.
            start = i + 1 if in_fence else _fence_after(lines, i, head) + 1
            end = _close_after(lines, start, head)
            rewrites.append(FunctionRewrite(head["path"], head["name"], _code(lines[start:end])))
            in_fence, i = False, end + 1
            continue
        if not in_fence and _NO_PATH.match(lines[i]):
            raise PatchApplyError(f"the FUNCTION header on line {i + 1} names no file: {_FORMAT}")
        in_fence = not _CLOSE.match(lines[i]) if in_fence else bool(_FENCE.match(lines[i]))
        i += 1
    if not rewrites:
        used = " (SEARCH/REPLACE blocks are not used here)" if "<<<<<<< SEARCH" in text else ""
        raise PatchApplyError(f"no FUNCTION block found{used}: {_FORMAT}")
    return rewrites


def _fence_after(lines: list[str], i: int, head: re.Match) -> int:
    """The line opening the header's code block; prose in between is skipped, another header is not."""
    for k in range(i + 1, len(lines)):
        if _FENCE.match(lines[k]):
            return k
        if _HEADER.match(lines[k]):
            break
    raise PatchApplyError(f"FUNCTION {head['path']}::{head['name']} (line {i + 1}) has no code block after it: "
                          f"{_FORMAT}")


def _close_after(lines: list[str], start: int, head: re.Match) -> int:
    for k in range(start, len(lines)):
        if _CLOSE.match(lines[k]):
            return k
        if _HEADER.match(lines[k]):
            break
    # A reply cut at the token limit ends mid-function: better refused than spliced in half.
    raise PatchApplyError(f"the code block of FUNCTION {head['path']}::{head['name']} is missing its closing "
                          "``` line")


def _code(lines: list[str]) -> str:
    if any(ln.strip() for ln in lines) and all(NUMBERED.match(ln) for ln in lines if ln.strip()):
        lines = [NUMBERED.sub("", ln) for ln in lines]  # copied from our numbered listing
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "".join(ln + "\n" for ln in lines)
