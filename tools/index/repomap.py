"""A ranked map of the repository in a token budget, in the manner of aider's repo map.

Files are ranked by PageRank over the reference graph (a file many others call into is central),
optionally personalised towards files of interest. A definition's rank is the rank flowing to it
from the files that reference its name. The map lists the best definitions' signature lines,
grouped by file, as many as fit.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from tools.index.graph import file_graph, pagerank
from tools.tokens import CountTokens, estimate_tokens


def rank_definitions(index, focus: list[str] | None = None) -> list[tuple[float, object]]:
    files, adj, _ = file_graph(index)
    pos = {f: i for i, f in enumerate(files)}
    personal = None
    if focus:
        personal = np.zeros(len(files))
        for f in focus:
            if f in pos:
                personal[pos[f]] = 1.0
    pr = pagerank(adj, personal)
    syms = index.symbols()
    definers: dict[str, set[str]] = defaultdict(set)
    for s in syms:
        definers[s.name].add(s.path)
    # Rank flowing along references: file f spends pr[f] over the names it uses from other files,
    # by use count; a file's calls to its own helpers say nothing about what the repo relies on.
    inflow: dict[tuple[str, str], float] = defaultdict(float)
    for f in files:
        counts = Counter(name for name, _ in index.references(f) if f not in definers.get(name, (f,)))
        # As aider does: damp repeated calls, and distrust names that are private or defined in
        # many files (`close`, `run`: a call cannot say which class it reaches).
        weights = {name: n ** 0.5 * (0.1 if name.startswith("_") else 1.0)
                   * (0.1 if len(definers[name]) > 3 else 1.0) for name, n in counts.items()}
        total = sum(weights.values())
        for name, w in weights.items():
            for target in definers[name]:
                inflow[(target, name)] += pr[pos[f]] * w / total / len(definers[name])
    scored = []
    for s in syms:
        if s.qualname.count(".") > 1:
            continue  # nested deeper than a method: detail, not map material
        score = inflow.get((s.path, s.name), 0.0) + 0.01 * pr[pos[s.path]]
        scored.append((score, s))
    scored.sort(key=lambda t: (-t[0], t[1].path, t[1].start_line))
    return scored


def render_map(ranked: list, n: int) -> str:
    by_file: dict[str, list] = defaultdict(list)
    order: list[str] = []
    for _, s in ranked[:n]:
        if s.path not in by_file:
            order.append(s.path)
        by_file[s.path].append(s)
    out = []
    for path in order:
        out.append(f"{path}:")
        for s in sorted(by_file[path], key=lambda s: s.start_line):
            head = s.signature.split("\n", 1)[0] if s.signature else f"{s.kind} {s.name}"
            indent = "    " * s.qualname.count(".")
            out.append(f"{s.start_line:>5}│{indent}{head}")
    return "\n".join(out) + ("\n" if out else "")


def repo_map(index, tokens: int, *, focus: list[str] | None = None,
             count_tokens: CountTokens = estimate_tokens) -> str:
    """The largest ranked map that fits in `tokens` (binary search on the number of definitions)."""
    ranked = rank_definitions(index, focus)
    lo, hi, best = 1, len(ranked), ""
    while lo <= hi:
        mid = (lo + hi) // 2
        text = render_map(ranked, mid)
        if count_tokens(text) <= tokens:
            best, lo = text, mid + 1
        else:
            hi = mid - 1
    return best
