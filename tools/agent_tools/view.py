"""The `view` tool: a file of the working copy with line numbers (all of it or a range), or a
directory's entries. Output is capped; the reply says how to see the rest."""
from __future__ import annotations

import os
from pathlib import Path

from tools.agent_tools.base import Observation, ToolSpec
from tools.agent_tools.output import fit, numbered
from tools.agent_tools.paths import is_binary, locate, relative
from tools.edits.blocks import split_lines
from tools.edits.paths import file_not_found

MAX_LINES = 400
MAX_CHARS = 20_000

VIEW = ToolSpec(
    name="view",
    description=("Show a file of the repository with line numbers (the numbers and ' | ' are not part of the "
                 "file), or part of it from line `start` to line `end`. A directory shows the files and "
                 "folders in it. Long files are shown in parts; the reply says how to see the rest."),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string",
                     "description": 'file or directory relative to the repository root, e.g. "src/app/models.py"; '
                                    '"." is the root'},
            "start": {"type": "integer", "minimum": 1, "description": "first line to show (default 1)"},
            "end": {"type": "integer", "minimum": 1, "description": "last line to show (default: as many as fit)"},
        },
        "required": ["path"],
        "additionalProperties": False,
    },
)


def view(root: Path, path: str, start: int | None = None, end: int | None = None, *,
         max_lines: int = MAX_LINES, max_chars: int = MAX_CHARS) -> Observation:
    target, refusal = locate(root, path)
    if target is None:
        return Observation(refusal, ok=False)
    if target.is_dir():
        return _listing(root, target, max_lines)
    if not target.is_file():
        return Observation(file_not_found(Path(root).resolve(), path), ok=False)
    rel = relative(root, target)
    try:
        data = target.read_bytes()
    except OSError as exc:
        return Observation(f"cannot read {rel}: {exc.strerror or exc}", ok=False)
    if is_binary(data):
        return Observation(f"{rel} is a binary file ({len(data)} bytes); view shows text files only", ok=False)
    text = data.decode("utf-8", errors="replace")
    lines = split_lines(text.replace("\r\n", "\n"))
    if not lines:
        return Observation(f"{rel} is empty (0 lines)")
    return _lines(rel, lines, start or 1, end, max_lines, max_chars, undecodable="\ufffd" in text)


def _lines(rel: str, lines: list[str], start: int, end: int | None, max_lines: int, max_chars: int,
           undecodable: bool) -> Observation:
    total = len(lines)
    if start > total:
        return Observation(f"{rel} has {total} lines; start must be at most {total}", ok=False)
    if end is not None and end < start:
        return Observation(f"end ({end}) is before start ({start})", ok=False)
    wanted = lines[start - 1:min(end or total, total)]
    listed = numbered(wanted[:max_lines], start)
    shown = fit(listed, max_lines, max_chars)
    last = start + shown - 1
    out = [f"{rel} (lines {start}-{last} of {total})", *listed[:shown]]
    cut = shown < len(wanted)
    if cut:
        lines = "line" if shown == 1 else "lines"
        out.append(f"[cut at {shown} {lines}: lines {last + 1}-{start + len(wanted) - 1} not shown; "
                   f"call view with start={last + 1} to see more]")
    elif last < total and end is None:
        out.append(f"[{total - last} more lines: call view with start={last + 1}]")
    if undecodable:
        out.append("[the file is not all UTF-8: bytes that are not were shown as \ufffd]")
    return Observation("\n".join(out), truncated=cut)


def _listing(root: Path, folder: Path, max_lines: int) -> Observation:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        return Observation(f"cannot list {relative(root, folder)}: {exc.strerror or exc}", ok=False)
    names = [e.name + ("@" if e.is_symlink() else "/" if e.is_dir(follow_symlinks=False) else "")
             for e in entries if e.name != ".git"]
    rel = relative(root, folder)
    out = [f"{rel}/ ({len(names)} entries; a name ending in / is a folder, in @ a symbolic link)", *names[:max_lines]]
    if len(names) > max_lines:
        out.append(f"[cut at {max_lines} entries: {len(names) - max_lines} more not shown; "
                   "use search with a path glob to find files]")
    return Observation("\n".join(out), truncated=len(names) > max_lines)
