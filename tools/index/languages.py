"""Which tree-sitter grammar and tag query reads which file.

Grammars are the individual PyPI wheels (tree-sitter-python, -javascript, ...): they work offline,
unlike language packs that download grammars on first use. A missing wheel only makes that
language's files "unsupported"; it never stops the index.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
from dataclasses import dataclass
from importlib import resources

import tree_sitter


@dataclass(frozen=True)
class Lang:
    name: str                  # also the cache key prefix
    suffixes: tuple[str, ...]
    module: str                # the grammar wheel's import name
    function: str              # its function returning the language pointer
    query: str                 # tag query file under tools/index/queries/
    # Node types that belong to the definition they wrap, so its line range starts at them
    # (decorators, `export`, a `const` holding an arrow function, Go's `type` keyword).
    wrappers: frozenset[str] = frozenset()
    python_docstrings: bool = False  # else the comment block just above a definition


_JS_WRAPPERS = frozenset({"export_statement", "lexical_declaration", "variable_declaration"})

LANGUAGES: tuple[Lang, ...] = (
    Lang("python", (".py", ".pyi"), "tree_sitter_python", "language", "python.scm",
         frozenset({"decorated_definition"}), python_docstrings=True),
    Lang("javascript", (".js", ".jsx", ".mjs", ".cjs"), "tree_sitter_javascript", "language",
         "javascript.scm", _JS_WRAPPERS),
    Lang("typescript", (".ts", ".mts", ".cts"), "tree_sitter_typescript", "language_typescript",
         "typescript.scm", _JS_WRAPPERS),
    Lang("tsx", (".tsx",), "tree_sitter_typescript", "language_tsx", "typescript.scm", _JS_WRAPPERS),
    Lang("go", (".go",), "tree_sitter_go", "language", "go.scm", frozenset({"type_declaration"})),
    Lang("java", (".java",), "tree_sitter_java", "language", "java.scm"),
    Lang("rust", (".rs",), "tree_sitter_rust", "language", "rust.scm"),
)
_BY_SUFFIX = {s: lang for lang in LANGUAGES for s in lang.suffixes}


def language_for(path: str) -> Lang | None:
    dot = path.rfind(".")
    return _BY_SUFFIX.get(path[dot:].lower()) if dot > path.rfind("/") else None


def query_text(lang: Lang) -> str:
    return resources.files("tools.index").joinpath("queries", lang.query).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=None)
def load(lang: Lang) -> tuple[tree_sitter.Parser, tree_sitter.Query] | None:
    """The parser and compiled tag query, or None when the grammar wheel is not installed."""
    try:
        grammar = tree_sitter.Language(getattr(importlib.import_module(lang.module), lang.function)())
    except (ImportError, AttributeError):
        return None
    return tree_sitter.Parser(grammar), tree_sitter.Query(grammar, query_text(lang))


@functools.lru_cache(maxsize=None)
def schema_digest(extraction_version: int) -> str:
    """Cache entries made by other queries or extraction code must not be reused."""
    h = hashlib.sha1(str(extraction_version).encode())
    for lang in LANGUAGES:
        h.update(lang.name.encode() + query_text(lang).encode())
    return h.hexdigest()[:12]
