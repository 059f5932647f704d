"""Who uses whom: module resolution, the file reference/import graph, and PageRank over it.

Edges go from the file that imports or calls a name to the file that defines it. A name defined
in many files says little about which one is meant, so its edge weight is split between them.
"""
from __future__ import annotations

import math
import posixpath
import weakref
from collections import defaultdict

import numpy as np
from scipy import sparse

_PY = (".py", ".pyi")
_GRAPHS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class ModuleMap:
    """Dotted Python module names (relative to their source roots) and path lookups for others."""

    def __init__(self, files: list[str]):
        self.files = set(files)
        packages = {posixpath.dirname(f) for f in files if f.endswith(("/__init__.py", "/__init__.pyi"))}
        # A source root holds top-level packages: the repo root, "src/", "lib/"...
        roots = {posixpath.dirname(p) for p in packages if posixpath.dirname(p) not in packages}
        roots.add("")
        self.modules: dict[str, str] = {}
        for f in sorted(files, key=lambda f: f.endswith(".pyi")):  # .py wins over its stub
            if not f.endswith(_PY):
                continue
            d = posixpath.dirname(f)
            if d not in packages and d not in roots:
                continue  # a loose script directory is not importable
            stem = f.rsplit(".", 1)[0]
            stem = stem[: -len("/__init__")] if stem.endswith("/__init__") else stem
            for root in roots:
                if root == "" or stem.startswith(root + "/"):
                    rel = stem[len(root) + 1:] if root else stem
                    self.modules.setdefault(rel.replace("/", "."), f)
        self.module_of = {}
        for name, f in self.modules.items():  # the shortest (most rooted) name per file
            if f not in self.module_of or len(name) < len(self.module_of[f]):
                self.module_of[f] = name

    def resolve(self, dotted: str) -> tuple[str | None, list[str]]:
        """The file of the longest importable prefix of `dotted`, and the attribute names after it."""
        parts = dotted.split(".")
        for k in range(len(parts), 0, -1):
            path = self.modules.get(".".join(parts[:k]))
            if path:
                return path, parts[k:]
        return None, parts

    def resolve_import(self, from_path: str, module: str, name: str = "") -> list[str]:
        """Files an import statement in `from_path` refers to (module, and submodule `name`)."""
        if from_path.endswith(_PY):
            if module.startswith("."):
                level = len(module) - len(module.lstrip("."))
                base = posixpath.dirname(from_path)
                for _ in range(level - 1):
                    base = posixpath.dirname(base)
                pkg = self._package_of(base)
                rest = module.lstrip(".")
                module = ".".join(x for x in (pkg, rest) if x)
            out = []
            if name and name != "*":
                sub = self.modules.get(f"{module}.{name}")
                if sub:
                    out.append(sub)
            path = self.modules.get(module)
            if path and not out:
                out.append(path)
            return out
        return self._resolve_path_like(from_path, module)

    def _package_of(self, directory: str) -> str:
        for init in (f"{directory}/__init__.py", f"{directory}/__init__.pyi"):
            if init in self.module_of:
                return self.module_of[init]
        return directory.replace("/", ".")

    def _resolve_path_like(self, from_path: str, module: str) -> list[str]:
        """JS/TS relative paths, Go package paths, Java and Rust module paths, by path suffix."""
        if module.startswith("."):
            base = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), module))
            for cand in (base, *(base + e for e in (".ts", ".tsx", ".js", ".jsx", ".mjs")),
                         *(f"{base}/index{e}" for e in (".ts", ".tsx", ".js"))):
                if cand in self.files:
                    return [cand]
            return []
        sep = "::" if "::" in module else ("." if from_path.endswith(".java") else "/")
        parts = [p for p in module.split(sep) if p not in ("crate", "self", "super")]
        for k in range(len(parts), 0, -1):
            tail = "/".join(parts[:k])
            hits = [f for f in self.files if f.rsplit(".", 1)[0].endswith("/" + tail)
                    or f.rsplit(".", 1)[0] == tail or posixpath.dirname(f).endswith(tail)]
            if hits:
                return sorted(hits)[:8]
        return []


def file_graph(index) -> tuple[list[str], sparse.csr_matrix, ModuleMap]:
    """(files, weighted adjacency user->definer, module map), cached per index."""
    cached = _GRAPHS.get(index)
    if cached is not None:
        return cached
    files = index.files()
    pos = {f: i for i, f in enumerate(files)}
    mods = ModuleMap(files)
    definers: dict[str, set[int]] = defaultdict(set)
    for s in index.symbols():
        definers[s.name].add(pos[s.path])
    weights: dict[tuple[int, int], float] = defaultdict(float)
    for f in files:
        i = pos[f]
        for module, name, _ in index.imports(f):
            for target in mods.resolve_import(f, module, name):
                if target in pos and pos[target] != i:
                    weights[(i, pos[target])] += 1.0
        counts: dict[str, int] = defaultdict(int)
        for name, _ in index.references(f):
            counts[name] += 1
        for name, n in counts.items():
            targets = definers.get(name)
            if not targets or i in targets or len(targets) > 20:
                continue  # defined here, nowhere, or everywhere: no information about neighbours
            w = math.sqrt(n) / len(targets)
            for j in targets:
                weights[(i, j)] += w
    rows, cols, vals = [], [], []
    for (i, j), w in weights.items():
        rows.append(i)
        cols.append(j)
        vals.append(w)
    adj = sparse.csr_matrix((vals, (rows, cols)), shape=(len(files), len(files)))
    _GRAPHS[index] = (files, adj, mods)
    return files, adj, mods


def pagerank(adj: sparse.csr_matrix, personal: np.ndarray | None = None, *, alpha: float = 0.85,
             iters: int = 40, undirected: float = 0.0) -> np.ndarray:
    """Power iteration; `personal` restarts the walk at the mentioned nodes (personalised PageRank).

    `undirected` > 0 also lets the walk go from definer back to user, so a mentioned function
    leads to its callers as well as its callees.
    """
    n = adj.shape[0]
    if n == 0:
        return np.zeros(0)
    m = adj + undirected * adj.T if undirected else adj
    out = np.asarray(m.sum(axis=1)).ravel()
    inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
    trans = sparse.diags(inv) @ m  # row-stochastic where a node has out-edges
    p = np.full(n, 1.0 / n) if personal is None or personal.sum() <= 0 else personal / personal.sum()
    r = p.copy()
    dangling = out == 0
    for _ in range(iters):
        nxt = alpha * (trans.T @ r + r[dangling].sum() * p) + (1 - alpha) * p
        if np.abs(nxt - r).sum() < 1e-9:
            return nxt
        r = nxt
    return r
