"""Whether an edit left a source file unparseable that parsed before it: a mistake the model can
mend (an `elif` indented into the block above it, a bracket never closed), found without running
anything, as SWE-agent lints each edit and Agentless drops candidates that do not parse. Otherwise
the tests find it, after an environment start and a whole run, and say only that nothing collected.

Python by the host's own compiler (its message and line; nothing is executed), other indexed
languages by their tree-sitter grammar (the first ERROR or MISSING node). A file that did not parse
before the edit (Python 2 code, a grammar's gap, a newer syntax than the host's) is not judged.
"""
from __future__ import annotations

import ast
import warnings
from pathlib import Path

from tools.edits.diff import base_text, files_changed
from tools.edits.paths import safe_target
from tools.index.languages import Lang, language_for, load


def syntax_problems(root: Path, diff: str) -> list[str]:
    """One "path line N: message" (and the offending source line) per file of `diff` that parsed at
    HEAD, or is new, and does not parse in the working copy, where the diff's edits are applied."""
    problems = []
    for path in files_changed(diff):
        target = safe_target(root, path)
        if language_for(path) is None or not target.is_file():
            continue
        broken = edit_breaks(path, base_text(root, path), target.read_text(encoding="utf-8", errors="replace"))
        if broken:
            problems.append(f"{path} {broken}")
    return problems


def edit_breaks(path: str, before: str | None, after: str) -> str | None:
    """"line N: message" and the offending source line when `after` does not parse though `before`
    did (or there was no file before); None otherwise, and for a language not judged."""
    lang = language_for(path)
    if lang is None or before is not None and _error(before, lang) is not None:
        return None  # not parseable before the edit either: not the edit's doing
    error = _error(after, lang)
    if error is None:
        return None
    line, message = error
    lines = after.splitlines()
    source = lines[line - 1].rstrip() if 0 < line <= len(lines) else ""
    return f"line {line}: {message}" + (f"\n    {source}" if source.strip() else "")


def syntax_feedback(problems: list[str]) -> str:
    """What the model is told of edits that would leave files unparseable (syntax_problems)."""
    paths = ", ".join(p.split(" line ", 1)[0] for p in problems)
    return (f"The edits would leave {paths} unparseable:\n" + "\n".join(problems)
            + "\nCheck the indentation and the brackets of the new lines.")


def _error(text: str, lang: Lang) -> tuple[int, str] | None:
    """(line, message) of the first syntax error, None when the text parses (or cannot be judged)."""
    if lang.name == "python":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarning on old escape sequences: not errors
                ast.parse(text)
        except SyntaxError as e:
            return e.lineno or 0, e.msg
        except (ValueError, RecursionError, MemoryError):
            return None  # null bytes, nesting too deep for the host's parser: not judged
        return None
    loaded = load(lang)
    if loaded is None:
        return None
    tree = loaded[0].parse(text.encode("utf-8", "surrogateescape"))
    if not tree.root_node.has_error:
        return None
    node = _first_error(tree.root_node)
    where = node.start_point[0] + 1 if node is not None else 0
    what = f"missing {node.type}" if node is not None and node.is_missing else "syntax error"
    return where, f"{what} ({lang.name})"


def _first_error(root):
    """The first ERROR or MISSING node in source order (a loop: a deeply nested file must not
    exhaust Python's recursion limit)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            return node
        stack.extend(reversed([c for c in node.children if c.has_error or c.is_missing]))
    return None
