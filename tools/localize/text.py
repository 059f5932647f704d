"""Words out of code and prose, shared by every signal so they agree on what a term is."""
from __future__ import annotations

import functools
import re

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUBWORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
STOP = frozenset("""a an and are as at be but by can do does for from has have i if in into is it
its not of on or so that the their then there this to was we when which while will with you your
self cls def return import class none true false elif else try except raise pass lambda py
""".split())


# Hyphenated names (`ignore-paths`, `unused-import`) are options and message ids in code: one term.
COMPOUND = re.compile(r"(?<![\w-])[a-z][a-z0-9]+(?:-[a-z][a-z0-9]+)+(?![\w-])")


def tokenize(text: str) -> list[str]:
    """Split identifiers into lower-case subwords, and keep compound identifiers whole too."""
    out: list[str] = []
    for ident in IDENT.findall(text):
        out.extend(terms(ident))
    out.extend(c.replace("-", "_") for c in COMPOUND.findall(text))
    return out


@functools.lru_cache(maxsize=500_000)  # identifiers repeat a lot across a repository
def terms(ident: str) -> tuple[str, ...]:
    parts = [p.lower() for chunk in ident.split("_") for p in _SUBWORD.findall(chunk)]
    parts = [p for p in parts if len(p) > 1 and not p.isdigit() and p not in STOP]
    whole = ident.lower().strip("_")
    if len(parts) > 1 or (parts and whole != parts[0]):
        return (whole, *parts)  # an exact mention of `parse_header` outranks "parse" + "header"
    return tuple(parts)


def lines_of(text: str) -> list[str]:
    # Newlines only, as tree-sitter counts them; str.splitlines also splits at form feeds.
    lines = text.replace("\r\n", "\n").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines
