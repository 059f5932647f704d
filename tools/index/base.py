"""Language-neutral shapes shared by every repository index."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Symbol:
    path: str          # repo-relative posix path
    name: str
    qualname: str      # e.g. "Parser.parse"
    kind: str          # "function" | "method" | "class" | "interface" | "enum" | "type" | "module" | "macro"
    start_line: int    # 1-based, inclusive (decorators included)
    end_line: int      # 1-based, inclusive
    signature: str     # the def/class header up to and including ':'
    docstring: str


@runtime_checkable
class Index(Protocol):
    """What localization and context rendering need. RepoIndex (tools/index/repo.py) also offers
    symbols_in(path), references(path), imports(path), language(path) and blob_key(path), which
    the localization signals use when present."""

    root: Path
    stats: dict

    def files(self) -> list[str]: ...

    def symbols(self) -> list[Symbol]: ...

    def read(self, path: str) -> str: ...
