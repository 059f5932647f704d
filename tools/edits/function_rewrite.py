"""Whole-function rewrites: the model names a function or method and writes its complete new
definition, which replaces the old one by its tree-sitter span (function_blocks.py parses them).

Small models copy SEARCH lines badly; naming a definition asks them to copy nothing exactly.
Qualified names are the index's (tools/index/parse.py): `name`, `Class.method`, `outer.inner`.
Python only: in the other indexed languages a method alone is not a parsable definition, so the
new text could not be checked before it is spliced in.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from tools.edits.blocks import split_lines
from tools.edits.function_blocks import FunctionRewrite
from tools.edits.paths import file_not_found, refused_path, safe_target
from tools.index.base import Index
from tools.index.languages import language_for, load
from tools.index.parse import extract

_FUNCTION_KINDS = ("function", "method")
_DEFINITIONS = ("function_definition", "decorated_definition")


@dataclass
class RewriteFailure:
    rewrite: FunctionRewrite
    reason: str


@dataclass
class RewriteResult:
    applied: list[FunctionRewrite]
    failures: list[RewriteFailure]


def apply_rewrites(root: Path, rewrites: list[FunctionRewrite], index: Index | None = None) -> RewriteResult:
    """Apply each rewrite in turn (a later one sees the earlier ones' result). `index`, when given,
    lets a refused name point at the files that do define it."""
    root = Path(root).resolve()
    result = RewriteResult(applied=[], failures=[])
    for rewrite in rewrites:
        reason = _apply_one(root, rewrite, index)
        if reason:
            result.failures.append(RewriteFailure(rewrite, reason))
        else:
            result.applied.append(rewrite)
    return result


def _apply_one(root: Path, rewrite: FunctionRewrite, index: Index | None) -> str:
    if refusal := refused_path(rewrite.path):
        return refusal
    rel = rewrite.path.replace("\\", "/")
    target = safe_target(root, rel)
    if not target.is_file():
        return file_not_found(root, rewrite.path)
    lang = language_for(rel)
    if lang is None or lang.name != "python" or load(lang) is None:
        return (f"{rewrite.path} is not a Python file: FUNCTION blocks rewrite Python functions only "
                "(.py, .pyi)")
    try:
        raw = target.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot edit {rewrite.path}: {exc}"
    crlf = "\r\n" in raw
    updated, reason = _rewritten(raw.replace("\r\n", "\n"), rewrite, rel, lang, index)
    if not reason:
        target.write_bytes((updated.replace("\n", "\r\n") if crlf else updated).encode("utf-8"))
    return reason


def _rewritten(content: str, rewrite: FunctionRewrite, rel: str, lang, index: Index | None) -> tuple[str, str]:
    """(the file with the definition replaced, "") or ("", why not)."""
    # (name, qualname, kind, start_line, end_line, ...), decorators in the span: the index's own extraction
    symbols = extract(lang, content.encode("utf-8")).symbols
    spans = [(s[3] - 1, s[4] - 1) for s in symbols if s[1] == rewrite.qualname and s[2] in _FUNCTION_KINDS]
    if not spans:
        return "", _not_found(rel, rewrite.qualname, symbols, index)
    parser = load(lang)[0]
    new, problem = _new_definition(parser, rewrite.code, rewrite.qualname.rsplit(".", 1)[-1])
    if problem:
        return "", problem
    old_tree = parser.parse(content.encode("utf-8"))
    olds = [_node_spanning(old_tree.root_node, first, last) for first, last in spans]
    if None in olds:  # the index and this parse disagree: an extraction bug, not the model's
        return "", f"cannot find the lines of `{rewrite.qualname}` in {rel}"
    if len(olds) > 1:
        # A property's getter and setter share a name; their decorators tell them apart.
        olds = [old for old in olds if _decorators(old) == _decorators(new)] if _decorators(new) else []
    if len(olds) != 1:
        where = ", ".join(str(first + 1) for first, _ in spans)
        return "", (f"`{rewrite.qualname}` is defined {len(spans)} times in {rel} (lines {where}): write the "
                    "decorators of the one to replace too, so it is clear which one")
    old = olds[0]
    first, last = old.start_point[0], old.end_point[0]
    lines = split_lines(content)
    body = _reindent(rewrite.code, _indent(lines[first]), new)
    if old.type == "decorated_definition" and new.type != "decorated_definition":
        # A rewrite written without decorators keeps the old ones: models leave them out when they
        # think of "the function", and dropping @property or @staticmethod would change behaviour.
        first = old.child_by_field_name("definition").start_point[0]
    tail = lines[last + 1:]
    if not tail and not content.endswith("\n"):
        body = body[:-1]  # the file had no final newline; do not add one
    updated = "".join(lines[:first]) + body + "".join(tail)
    if not old_tree.root_node.has_error and parser.parse(updated.encode("utf-8")).root_node.has_error:
        return "", f"the new `{rewrite.qualname}` does not fit where the old one was: {rel} would not parse"
    return updated, ""


def _new_definition(parser, code: str, name: str):
    """(the top-level node, "") when `code` is one Python definition of `name`, else (None, why)."""
    if not code.strip():
        return None, "the code block is empty: write the complete new definition in it"
    root = parser.parse(_dedent(code).encode("utf-8")).root_node
    if root.has_error:
        return None, f"the new code does not parse as Python (near its line {_error_row(root) + 1})"
    nodes = [n for n in root.named_children if n.type != "comment"]
    function = _function_of(nodes[0]) if len(nodes) == 1 else None
    if function is None:
        kinds = ", ".join(n.type.replace("_", " ") for n in nodes[:4])
        return None, (f"the code block must hold exactly one function definition (`def {name}(...):` with its "
                      f"decorators), not: {kinds}")
    found = function.child_by_field_name("name").text.decode("utf-8", "replace")
    if found != name:
        return None, (f"the code block defines `{found}`, not `{name}`: a FUNCTION block holds the new "
                      "definition of the function its header names")
    return nodes[0], ""


def _decorators(node) -> list[str]:
    return [d.text.decode("utf-8", "replace").strip() for d in node.named_children if d.type == "decorator"]


def _function_of(node):
    if node.type == "decorated_definition":
        node = node.child_by_field_name("definition")
    return node if node is not None and node.type == "function_definition" else None


def _node_spanning(node, first: int, last: int):
    """The definition the index reported on rows first..last (0-based), decorators included."""
    for child in node.named_children:
        start, end = child.start_point[0], child.end_point[0]
        if start <= first and end >= last:
            if (start, end) == (first, last) and child.type in _DEFINITIONS:
                return child
            return _node_spanning(child, first, last)
    return None


def _not_found(rel: str, qualname: str, symbols: list, index: Index | None) -> str:
    """The refusal of a name the file does not define, with the names the model may have meant."""
    qualnames = [s[1] for s in symbols if s[2] in _FUNCTION_KINDS]
    name = qualname.rsplit(".", 1)[-1]
    same_name = [q for q in qualnames if q.rsplit(".", 1)[-1] == name]
    close = difflib.get_close_matches(qualname, qualnames, n=3, cutoff=0.0)
    closest = list(dict.fromkeys(same_name + close))[:3]
    where = f"; closest: {', '.join(closest)}" if closest else "; it defines no functions or methods"
    text = f"no function `{qualname}` in {rel}{where}"
    if any(s[1] == qualname and s[2] == "class" for s in symbols):
        text += f" (`{qualname}` is a class: name one of its methods, as `{qualname}.method`)"
    if index is not None:
        others = [f"{s.path}::{s.qualname}" for s in index.symbols()
                  if s.path != rel and s.kind in _FUNCTION_KINDS and s.name == name]
        if others:
            text += f"; `{name}` is defined in other files: {', '.join(others[:5])}"
    return text


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip(" \t"))]


def _dedent(code: str) -> str:
    """The code moved left by its first line's indentation (lines indented less stay as they are)."""
    lines = _as_lines(code)
    base = next((_indent(ln) for ln in lines if ln.strip()), "")
    return "".join(ln[len(base):] if ln.startswith(base) else ln for ln in lines)


def _reindent(code: str, indent: str, node) -> str:
    """The new definition at the old one's indentation: models return a method without its class
    indentation as often as with it. Lines inside a multi-line string are left as written, or the
    re-indent would change the string's value."""
    written = _as_lines(code)
    moved = _as_lines(_dedent(code))
    in_string: set[int] = set()
    _string_rows(node, in_string)
    out = []
    for row, (as_written, line) in enumerate(zip(written, moved)):
        if row in in_string:
            out.append(as_written)
        else:
            out.append(indent + line if line.strip() else "\n")
    return "".join(out)


def _string_rows(node, rows: set[int]) -> None:
    """Rows that begin inside a string literal spanning several lines."""
    if node.end_point[0] == node.start_point[0]:
        return  # one line: holds no multi-line string
    if node.type == "string":
        rows.update(range(node.start_point[0] + 1, node.end_point[0] + 1))
        return
    for child in node.children:
        _string_rows(child, rows)


def _error_row(node) -> int:
    for child in node.children:
        if child.type == "ERROR" or child.is_missing:
            return child.start_point[0]
        if child.has_error:
            return _error_row(child)
    return node.start_point[0]


def _as_lines(text: str) -> list[str]:
    return [ln if ln.endswith("\n") else ln + "\n" for ln in split_lines(text.replace("\r\n", "\n"))]


def rewrite_feedback(failures: list[RewriteFailure]) -> str:
    """What the model is told about the rewrites that did not apply (nothing when all did)."""
    if not failures:
        return ""
    n = len(failures)
    out = [f"# {n} FUNCTION block{'s' if n > 1 else ''} failed to apply!\n"]
    for k, f in enumerate(failures, 1):
        out.append(f"## Block {k}: FUNCTION {f.rewrite.path}::{f.rewrite.qualname}\n{f.reason}\n")
    out.append("A FUNCTION block names a function that exists, as `path::name` (`Class.method` for a method, "
               "`outer.inner` for a nested function), and holds its complete new definition. "
               "Reply with corrected FUNCTION blocks.")
    return "\n".join(out)
