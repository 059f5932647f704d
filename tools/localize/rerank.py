"""The optional second stage (Agentless style): a model picks files, then functions, from a compact
view of the retriever's candidates; its picks are merged with the retriever's ranking.

Everything here is deterministic text in, text out: what the model is shown (`file_listing`,
`skeleton`), how its reply is read (`pick_files`, `pick_symbols`) and how picks and ranking are
merged (`merge`). The model call itself belongs to the caller.
"""
from __future__ import annotations

import re

from tools.index.base import Index, Symbol
from tools.localize.fuse import Localization
from tools.localize.roles import is_test_path
from tools.tokens import CountTokens, estimate_tokens

RRF_K = 5            # reciprocal-rank constant: small, so the first few places weigh most
MODEL_WEIGHT = 2.0   # a pick by the model counts twice a retriever place: it read the issue
MAX_OUTLINE = 8      # top-level names shown per candidate file


def _symbols(index: Index, path: str) -> list[Symbol]:
    return index.symbols_in(path) if hasattr(index, "symbols_in") else [
        s for s in index.symbols() if s.path == path]


def _outline(index: Index, path: str) -> list[Symbol]:
    return [s for s in _symbols(index, path) if "." not in s.qualname]


def file_listing(index: Index, loc: Localization, limit: int = 25) -> tuple[str, list[str]]:
    """A numbered list of candidate files, each with its top-level definitions."""
    paths = [p for p, _ in loc.files[:limit]]
    if len(paths) < limit:  # few files scored: the rest of the source tree is still a candidate
        seen = set(paths)
        paths += [p for p in sorted(index.files()) if p not in seen and not is_test_path(p)
                  and _outline(index, p)][:limit - len(paths)]
    rows = []
    for n, path in enumerate(paths, 1):
        names = [s.name for s in _outline(index, path)]
        more = f", … {len(names) - MAX_OUTLINE} more" if len(names) > MAX_OUTLINE else ""
        rows.append(f"{n}. {path}" + (f"  ({', '.join(names[:MAX_OUTLINE])}{more})" if names else ""))
    return "\n".join(rows), paths


def skeleton(index: Index, paths: list[str], budget_tokens: int,
             count_tokens: CountTokens = estimate_tokens) -> tuple[str, list[Symbol]]:
    """Signatures of the classes, functions and methods in `paths`, no bodies, within the budget."""
    parts: list[str] = []
    shown: list[Symbol] = []
    for path in paths:
        lines = [f"## {path}"]
        for s in _symbols(index, path):
            if s.kind not in ("function", "method", "class"):
                continue
            indent = "    " * s.qualname.count(".")
            head = (s.signature or s.name).strip().splitlines()[0]
            lines.append(f"{indent}{head}  # {s.qualname}, line {s.start_line}")
            shown.append(s)
        block = "\n".join(lines) + "\n"
        if count_tokens("".join(parts) + block) > budget_tokens:
            break
        parts.append(block)
    return "".join(parts), shown


def pick_files(reply: str, candidates: list[str], limit: int = 5) -> list[str]:
    """Candidate paths the reply names (by path or by list number), in the reply's order."""
    found: list[tuple[int, str]] = []
    for path in candidates:
        # Bounded, so that b.py is not found inside a/b.py.
        m = re.search(r"(?<![\w/.-])" + re.escape(path) + r"(?![\w/-])", reply)
        if m:
            found.append((m.start(), path))
    if not found:  # small models sometimes answer with the list numbers only
        for m in re.finditer(r"(?m)^\s*(\d+)[.)]?\s*$|\b(?:file|#)\s*(\d+)\b", reply):
            n = int(m.group(1) or m.group(2))
            if 1 <= n <= len(candidates):
                found.append((m.start(), candidates[n - 1]))
    return list(dict.fromkeys(p for _, p in sorted(found)))[:limit]


def pick_symbols(reply: str, symbols: list[Symbol], limit: int = 10) -> list[Symbol]:
    """Symbols the reply names by qualified name (or unique bare name), in the reply's order."""
    by_qual: dict[str, list[Symbol]] = {}
    by_name: dict[str, list[Symbol]] = {}
    for s in symbols:
        by_qual.setdefault(s.qualname, []).append(s)
        by_name.setdefault(s.name, []).append(s)
    picked: list[Symbol] = []
    for token in re.findall(r"[A-Za-z_][\w.]*", reply):
        token = token.rstrip(".")
        hits = by_qual.get(token) or (by_name.get(token) if len(by_name.get(token, [])) == 1 else None)
        for s in hits or []:
            if s not in picked:
                picked.append(s)
    return picked[:limit]


def merge(loc: Localization, files: list[str], symbols: list[Symbol]) -> Localization:
    """Reciprocal-rank fusion of the model's picks with the retriever's ranking."""
    def fuse(retrieved: list, picked: list, key) -> list:
        score: dict = {}
        item: dict = {}
        for rank, (x, _) in enumerate(retrieved):
            score[key(x)] = score.get(key(x), 0.0) + 1.0 / (RRF_K + rank + 1)
            item[key(x)] = x
        for rank, x in enumerate(picked):
            score[key(x)] = score.get(key(x), 0.0) + MODEL_WEIGHT / (RRF_K + rank + 1)
            item.setdefault(key(x), x)
        order = sorted(score, key=lambda k: -score[k])
        return [(item[k], round(score[k], 4)) for k in order]

    new_files = fuse(loc.files, files, key=lambda p: p)
    new_symbols = fuse(loc.symbols, symbols, key=lambda s: (s.path, s.qualname, s.start_line))
    rank_of = {p: i for i, (p, _) in enumerate(new_files)}
    # Windows keep their scores; files the model added get their picked symbols as windows.
    windows = list(loc.windows) + [(s.path, s.start_line, s.end_line, 1.0) for s in symbols
                                   if not any(w[0] == s.path and w[1] <= s.start_line <= w[2] for w in loc.windows)]
    windows.sort(key=lambda w: (rank_of.get(w[0], len(rank_of)), -w[3]))
    return Localization(new_files, new_symbols, windows)
