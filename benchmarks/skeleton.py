"""A patch kept in a ledger without the benchmark repository's own lines.

A model's diff quotes the repository it was made on: every context line and every removed line is
the project's code, which is not ours to commit. Its skeleton keeps the headers, the hunk headers,
the added lines (the model's) and "\\ No newline" markers whole, and cuts each context or removed
line to its first character. Those lines are exactly the old file's lines the hunk header names, in
order, so `rebuild` puts them back from the repository at the instance's base commit (the mirror
every machine fetches) and checks the result against the sha256 of the original.

A hunk header's trailing text is the project's too: git names there the nearest line above the hunk
that looks like a definition ("@@ -79,7 +79,7 @@ def create_new_paste(contents):"). Given the old
files, the skeleton keeps a marker instead, naming which of git's rules found it (its default, or
the python diff driver a repository's .gitattributes may choose), and only when that rule, run on
the old file, finds exactly that text; otherwise the text stays as it was.
"""
from __future__ import annotations

import hashlib
import re
from typing import Callable

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_PYTHON_FUNCNAME = re.compile(r"^[ \t]*((class|(async[ \t]+)?def)[ \t].*)$")  # git's userdiff "python"
_SPACE = " \t\n\v\f\r"  # C isspace
_RULES = ("default", "python")


class SkeletonError(ValueError):
    """A skeleton that does not rebuild into the patch it was made from."""


def digest(patch: str) -> str:
    return hashlib.sha256(patch.encode("utf-8", "surrogatepass")).hexdigest()


def strip(patch: str, old_file: Callable[[str], str] | None = None) -> str:
    """The patch with each context and removed line cut to its first character (and with `old_file`,
    each hunk header's function text that git's rules find again replaced by a marker)."""
    out = []
    old_left = new_left = 0
    names: dict[str, _FuncNames] = {rule: _FuncNames([], rule) for rule in _RULES}
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
        if line.startswith("--- "):
            path = _old_path(line)
            lines = old_file(path).split("\n") if path and old_file else []
            names = {rule: _FuncNames(lines, rule) for rule in _RULES}
        m = _HUNK.match(line)
        if m:
            old_left, new_left = _count(m.group(2)), _count(m.group(4))
            line = _marked(line, m, names)
        out.append(line)
    return "\n".join(out)


def rebuild(skeleton: str, old_file: Callable[[str], str]) -> str:
    """The patch again: `old_file(path)` is the file's text at the base commit."""
    out, old_lines, path = [], [], None
    names: dict[str, _FuncNames] = {rule: _FuncNames([], rule) for rule in _RULES}
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
            path = _old_path(line)
            old_lines = old_file(path).split("\n") if path else []
            names = {rule: _FuncNames(old_lines, rule) for rule in _RULES}
        m = _HUNK.match(line)
        if m:
            old_left, new_left = _count(m.group(2)), _count(m.group(4))
            start = int(m.group(1))
            at = start - 1 if old_left else start  # "-5,0" inserts after line 5
            name = {rule: names[rule].at(start, old_left) for rule in _RULES}  # each rule's state moves on
            for rule in _RULES:
                if line == f"{m.group(0)} {_marker(rule)}":
                    line = m.group(0) + (f" {name[rule]}" if name[rule] else "")
        out.append(line)
    return "\n".join(out)


def _old_path(line: str) -> str | None:
    return None if line == "--- /dev/null" else line[6:] if line.startswith("--- a/") else line[4:]


def _marker(rule: str) -> str:
    return f"<git funcname: {rule}>"


def _marked(line: str, m: re.Match, names: dict) -> str:
    """The hunk header with its function text as a marker when a rule finds that text again."""
    text = line[len(m.group(0)) + 1:] if line.startswith(m.group(0) + " ") else ""
    found = [rule for rule in _RULES if names[rule].at(int(m.group(1)), _count(m.group(2))) == text]
    if text and found:
        return f"{m.group(0)} {_marker(found[0])}"
    return line


class _FuncNames:
    """git's hunk-header function text in one file, hunk after hunk (xdiff's xemit.c): the first
    line matching the rule searched upward from the line above the hunk, down to where the previous
    hunk's search began; none found there keeps the previous hunk's text. Cut to 80 bytes, trailing
    white space dropped."""

    def __init__(self, lines: list[str], rule: str):
        self.lines, self.rule, self.limit, self.text = lines, rule, -1, ""

    def at(self, start: int, count: int) -> str:
        first = start - 1 if count else start  # the hunk's first old line, from 0
        for i in range(first - 1, self.limit, -1):
            if 0 <= i < len(self.lines):
                found = self._match(i)
                if found is not None:
                    self.text = found
                    break
        self.limit = first - 1
        return self.text

    def _match(self, i: int) -> str | None:
        line = self.lines[i]
        if self.rule == "default":
            raw = line + ("\n" if i < len(self.lines) - 1 else "")
            if not raw or not (raw[0].isascii() and raw[0].isalpha() or raw[0] in "_$"):
                return None
            return _cut(raw)
        m = _PYTHON_FUNCNAME.match(line[:-1] if line.endswith("\r") else line)
        return _cut(m.group(1)) if m else None


def _cut(text: str) -> str:
    return text.encode("utf-8")[:80].decode("utf-8", "ignore").rstrip(_SPACE)


def _count(group: str | None) -> int:
    return 1 if group is None else int(group)
