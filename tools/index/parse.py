"""Turn one file's bytes into its tags: definitions, references and imports.

The result is plain tuples and lists (see `Record`) so the SQLite cache can store it with
`marshal`, which is several times faster to load than JSON or pickle of dataclasses.
"""
from __future__ import annotations

import ast
import inspect
import re
from typing import NamedTuple

import tree_sitter

from tools.index.languages import Lang, load

_RUST_ALIAS = re.compile(r"\s+as\s+\w+")

EXTRACTION_VERSION = 4          # bump when the extraction below changes meaning
MAX_SIGNATURE_CHARS = 400
MAX_DOC_CHARS = 1500
_CLASS_LIKE = {"class", "interface", "enum", "scope"}  # a function inside one is a method
_COMMENTS = {"comment", "line_comment", "block_comment"}

# Counted so tests (and `patchwright index`) can show that cached files are not parsed again.
PARSE_COUNT = 0


class Record(NamedTuple):
    has_error: bool
    # (name, qualname, kind, start_line, end_line, signature, docstring); lines are 1-based
    symbols: list
    refs: list        # identifier names the file calls, instantiates or inherits from
    ref_lines: list   # the line of each reference, parallel to `refs`
    imports: list     # (module as written, imported name or "", line)


def extract(lang: Lang, data: bytes) -> Record | None:
    """None when the grammar is not installed."""
    global PARSE_COUNT
    loaded = load(lang)
    if loaded is None:
        return None
    parser, query = loaded
    tree = parser.parse(data)
    PARSE_COUNT += 1
    defs: dict[tuple[int, int], tuple] = {}
    scopes: list[tuple] = []
    refs, ref_lines, imports = [], [], []
    for pattern, caps in tree_sitter.QueryCursor(query).matches(tree.root_node):
        if "reference" in caps:
            for node in caps["reference"]:
                refs.append(node.text.decode("utf-8", "replace"))
                ref_lines.append(node.start_point[0] + 1)
        elif "import.from" in caps:
            module = caps["import.from"][0]
            for name in caps.get("import.name") or [None]:
                _add_imports(lang, module, name, imports)
        elif "scope" in caps:
            node = caps["scope"][0]
            scopes.append((node.start_byte, -node.end_byte, node.end_byte, "scope",
                           _text(caps["scope.name"][0]), node, None, None))
        elif "name" in caps:
            key = next(k for k in caps if k.startswith("definition."))
            node = caps[key][0]
            span = (node.start_byte, node.end_byte)
            if span in defs and defs[span][0] <= pattern:
                continue  # Go's type_spec matches a specific and a generic pattern
            receiver = caps.get("receiver")
            defs[span] = (pattern, key[11:], _text(caps["name"][0]), node,
                          _text(receiver[0]) if receiver else None)
    items = scopes + [(n.start_byte, -n.end_byte, n.end_byte, kind, name, n, receiver, True)
                      for _, kind, name, n, receiver in defs.values()]
    items.sort(key=lambda t: (t[0], t[1]))
    symbols = []
    stack: list[tuple[int, str, str]] = []  # (end_byte, name, kind) of enclosing definitions
    for start, _, end, kind, name, node, receiver, is_def in items:
        while stack and stack[-1][0] <= start:
            stack.pop()
        if is_def:
            scope = [receiver] if receiver else [s[1] for s in stack]
            if kind == "function" and (receiver or (stack and stack[-1][2] in _CLASS_LIKE)):
                kind = "method"
            outer = _outer(node, lang)
            head = outer if outer.type == "type_declaration" else node  # Go: keep the `type` keyword
            symbols.append((name, ".".join(scope + [name]), kind, outer.start_point[0] + 1,
                            node.end_point[0] + 1, _signature(head, lang),
                            _docstring(node, outer, lang)))
        stack.append((end, name, kind))
    return Record(tree.root_node.has_error, symbols, refs, ref_lines, imports)


def _text(node) -> str:
    return node.text.decode("utf-8", "replace")


def _outer(node, lang: Lang):
    """The node whose first line starts the definition: decorators, `export`, attributes."""
    while node.parent is not None and node.parent.type in lang.wrappers:
        node = node.parent
    prev = node.prev_named_sibling
    while prev is not None and prev.type == "attribute_item":  # Rust's #[derive(...)]
        node, prev = prev, prev.prev_named_sibling
    return node


def _body(node):
    body = node.child_by_field_name("body")
    if body is None:  # `const f = () => {...}`: the body belongs to the function value
        value = node.child_by_field_name("value")
        body = value.child_by_field_name("body") if value is not None else None
    return body


def _signature(node, lang: Lang) -> str:
    data = node.text
    body = _body(node)
    if lang.python_docstrings:
        # Cut at the header's own ':' so trailing comments and one-line bodies are excluded.
        colon = None
        for child in node.children:
            if child.type == ":":
                colon = child
        end = colon.end_byte if colon is not None else (body.start_byte if body else node.end_byte)
        return data[:end - node.start_byte].decode("utf-8", "replace").strip()[:MAX_SIGNATURE_CHARS]
    end = body.start_byte if body is not None and body.start_byte > node.start_byte else node.end_byte
    head = data[:end - node.start_byte].decode("utf-8", "replace").strip()
    if body is None:  # a type alias or signature: its first line says enough
        head = head.split("\n", 1)[0]
    return head.rstrip("{=> ").strip()[:MAX_SIGNATURE_CHARS]


def _docstring(node, outer, lang: Lang) -> str:
    if lang.python_docstrings:
        return _python_docstring(node.child_by_field_name("body"))
    lines: list[str] = []
    prev, row = outer.prev_sibling, outer.start_point[0]
    while prev is not None and prev.type in _COMMENTS and prev.end_point[0] >= row - 1:
        lines[:0] = _text(prev).splitlines()
        prev, row = prev.prev_sibling, prev.start_point[0]
    cleaned = [ln.strip().lstrip("/*!").rstrip("*/").strip() for ln in lines]
    return "\n".join(ln for ln in cleaned if ln)[:MAX_DOC_CHARS]


def _python_docstring(body) -> str:
    # named_child(i) raises IndexError (not None) past the end in py-tree-sitter 0.26
    first = body.named_child(0) if body is not None and body.named_child_count else None
    if first is None or first.type != "expression_statement" or not first.named_child_count:
        return ""
    literal = first.named_child(0)
    if literal.type != "string":
        return ""
    raw = _text(literal)
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = raw.strip("\"'rbuRBUfF")
    return inspect.cleandoc(value)[:MAX_DOC_CHARS] if isinstance(value, str) else ""


def _add_imports(lang: Lang, module_node, name_node, out: list) -> None:
    line = module_node.start_point[0] + 1
    module = _text(module_node)
    name = _text(name_node) if name_node is not None else ""
    if lang.name == "go":
        module = module.strip('"`')
    if lang.name == "rust":
        for path in _rust_use_paths(module):
            out.append((path, "", line))
        return
    out.append((module, name, line))


def _rust_use_paths(text: str) -> list[str]:
    """`crate::a::{b, c::D as E}` -> ["crate::a::b", "crate::a::c::D"]."""
    text = "".join(_RUST_ALIAS.sub("", text).split()).removesuffix("::*")
    if "{" not in text:
        return [text]
    head, rest = text.split("{", 1)
    parts, depth, cur = [], 0, ""
    for ch in rest[: rest.rfind("}")]:
        depth += (ch == "{") - (ch == "}")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [head + sub if sub != "self" else head.rstrip(":")
            for part in parts if part for sub in _rust_use_paths(part)]
