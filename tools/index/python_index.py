"""A symbol index of a Python repository built with tree-sitter.

tree-sitter (rather than `ast`) is used so files with syntax errors - common in the middle of a
fix, or in repositories pinned to an old Python - still yield the definitions that do parse.
"""
from __future__ import annotations

import ast
import inspect
import os
import subprocess
from pathlib import Path

import tree_sitter
import tree_sitter_python

from tools.errors import ToolError
from tools.index.base import Symbol

PY_SUFFIXES = (".py",)
# Directories that hold third-party or generated code; indexing them drowns the project's own code.
SKIP_DIRS = {
    ".git", ".hg", ".svn", "node_modules", "__pycache__", "venv", ".venv", "env", ".env",
    "virtualenv", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build",
    "dist", "site-packages", ".eggs", "htmlcov",
}

_LANGUAGE = tree_sitter.Language(tree_sitter_python.language())


class RepoIndex:
    """Files, their text and their symbols; built once per working copy."""

    def __init__(self, root: Path, texts: dict[str, str], symbols: list[Symbol], stats: dict):
        self.root = root
        self._texts = texts
        self._symbols = symbols
        self.stats = stats

    def files(self) -> list[str]:
        return list(self._texts)

    def symbols(self) -> list[Symbol]:
        return list(self._symbols)

    def symbols_in(self, path: str) -> list[Symbol]:
        return [s for s in self._symbols if s.path == path]

    def read(self, path: str) -> str:
        if path in self._texts:
            return self._texts[path]
        # Files outside the index (README, setup.cfg...) are still readable, but never outside root.
        full = (self.root / path).resolve()
        if not full.is_relative_to(self.root.resolve()) or not full.is_file():
            raise ToolError(f"no such file in repository: {path}")
        try:
            return full.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ToolError(f"{path} is not UTF-8 text") from exc


def build_index(root: Path, *, max_file_bytes: int = 1_000_000) -> RepoIndex:
    root = Path(root)
    stats = {"files_indexed": 0, "symbols": 0, "skipped": 0, "skipped_binary": 0,
             "skipped_huge": 0, "skipped_non_utf8": 0, "with_errors": 0}
    texts: dict[str, str] = {}
    symbols: list[Symbol] = []
    parser = tree_sitter.Parser(_LANGUAGE)
    for rel in _candidate_files(root):
        full = root / rel
        try:
            if full.is_symlink() or not full.is_file():
                continue
            if full.stat().st_size > max_file_bytes:
                _skip(stats, "huge")
                continue
            data = full.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:8192]:
            _skip(stats, "binary")
            continue
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            _skip(stats, "non_utf8")
            continue
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]  # keep tree-sitter byte offsets aligned with `text`
        tree = parser.parse(data)
        if tree.root_node.has_error:
            stats["with_errors"] += 1
        found: list[Symbol] = []
        _collect(tree.root_node, data, rel, (), False, found)
        texts[rel] = text
        symbols.extend(found)
        stats["files_indexed"] += 1
    stats["symbols"] = len(symbols)
    return RepoIndex(root, texts, symbols, stats)


def _skip(stats: dict, why: str) -> None:
    stats["skipped"] += 1
    stats[f"skipped_{why}"] += 1


def _candidate_files(root: Path) -> list[str]:
    paths = _git_files(root)
    if paths is None:
        paths = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not _skipped_dir(d))
            rel_dir = Path(dirpath).relative_to(root)
            paths.extend((rel_dir / f).as_posix() for f in filenames)
    keep = (p for p in paths if p.endswith(PY_SUFFIXES)
            and not any(_skipped_dir(part) for part in p.split("/")[:-1]))
    return sorted(set(keep))


def _skipped_dir(name: str) -> bool:
    return name in SKIP_DIRS or name.endswith(".egg-info")


def _git_files(root: Path) -> list[str] | None:
    """Tracked plus untracked-but-not-ignored files, so new files the agent wrote are indexed."""
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True, check=True, timeout=120,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def _collect(node, data: bytes, path: str, scope: tuple[str, ...], in_class: bool,
             out: list[Symbol]) -> None:
    for child in node.children:
        target, outer = child, child
        if child.type == "decorated_definition":
            target = child.child_by_field_name("definition")
            if target is None:
                continue
        if target.type not in ("function_definition", "class_definition"):
            # ERROR nodes and compound statements (if/try/with) can still contain definitions.
            if child.child_count:
                _collect(child, data, path, scope, in_class, out)
            continue
        name_node = target.child_by_field_name("name")
        if name_node is None:
            continue
        name = _text(data, name_node)
        is_class = target.type == "class_definition"
        kind = "class" if is_class else ("method" if in_class else "function")
        body = target.child_by_field_name("body")
        out.append(Symbol(
            path=path, name=name, qualname=".".join(scope + (name,)), kind=kind,
            start_line=outer.start_point.row + 1, end_line=outer.end_point.row + 1,
            signature=_signature(data, target, body), docstring=_docstring(data, body),
        ))
        if body is not None:
            _collect(body, data, path, scope + (name,), is_class, out)


def _text(data: bytes, node) -> str:
    return data[node.start_byte:node.end_byte].decode("utf-8", "replace")


def _signature(data: bytes, node, body) -> str:
    # Cut at the header's own ':' token, so trailing comments and one-line bodies are excluded.
    colons = [c for c in node.children if c.type == ":"]
    end = colons[-1].end_byte if colons else (body.start_byte if body is not None else node.end_byte)
    return data[node.start_byte:end].decode("utf-8", "replace").strip()


def _docstring(data: bytes, body) -> str:
    if body is None or not body.named_children:
        return ""
    first = body.named_children[0]
    if first.type != "expression_statement" or not first.named_children:
        return ""
    literal = first.named_children[0]
    if literal.type != "string":
        return ""
    raw = _text(data, literal)
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw.strip("\"'rbuRBU")
    return inspect.cleandoc(value) if isinstance(value, str) else ""
