"""Term statistics for retrieval: per file and per function-level unit, cached by blob content.

A *unit* is what a fix is said to edit: a function, a method or a class (its own lines, without
its methods). Functions nested inside functions fold into their enclosing unit. Every line of a
file belongs to exactly one unit or to the module, so per-unit term counts cost one pass.

The term data of a file depends only on its content and path, so it is cached across indexes in
this process: benchmarks and repeated localizations over nearby commits re-tokenize only changed files.
"""
from __future__ import annotations

import hashlib
import math
from array import array
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass

from tools.index.base import Index, Symbol
from tools.localize.text import COMPOUND, IDENT, lines_of, terms, tokenize

BM25_K1, BM25_B = 1.2, 0.75
_CACHE: "OrderedDict[str, FileDoc]" = OrderedDict()
_CACHE_MAX = 20_000  # about one large repository's worth of file versions
_FUNC = {"function", "method"}


@dataclass
class FileDoc:
    units: list[Symbol]
    unit_len: list[int]
    post: dict            # term -> array of unit position, tf, unit position, tf, ...
    file_tf: dict         # term -> tf over the whole file, path terms included
    file_len: int
    n_lines: int
    line_owner: array      # unit position owning each line, -1 for module level
    unit_refs: list        # per unit: the names its body calls or inherits from (for the unit graph)


def pairs(flat) -> zip:
    return zip(flat[::2], flat[1::2])


def unit_symbols(syms: list[Symbol]) -> list[Symbol]:
    """Symbols not nested inside a function: the granularity a fix location is reported at."""
    out, stack = [], []  # stack of (end_line, kind)
    for s in sorted(syms, key=lambda s: (s.start_line, -s.end_line)):
        while stack and stack[-1][0] < s.start_line:
            stack.pop()
        if not any(kind in _FUNC for _, kind in stack):
            out.append(s)
        stack.append((s.end_line, s.kind))
    return out


def _count(text: str) -> Counter:
    tf: Counter = Counter()
    for ident, n in Counter(IDENT.findall(text)).items():
        for t in terms(ident):
            tf[t] += n
    for c in COMPOUND.findall(text):
        tf[c.replace("-", "_")] += 1
    return tf


def _build(path: str, text: str, syms: list[Symbol], refs: list[tuple[str, int]]) -> FileDoc:
    units = unit_symbols(syms)
    lines = lines_of(text)
    owner = [-1] * len(lines)
    for u, s in enumerate(units):  # sorted by start, so inner units overwrite their parents
        owner[s.start_line - 1:s.end_line] = [u] * (min(s.end_line, len(lines)) - s.start_line + 1)
    chunks: dict[int, list[str]] = defaultdict(list)
    for ln, u in zip(lines, owner):
        chunks[u].append(ln)
    path_tf = Counter(tokenize(path.replace("/", " ")))
    post: dict = defaultdict(lambda: array("i"))
    unit_len = []
    file_tf: Counter = Counter({t: 3 * n for t, n in path_tf.items()})
    for u, s in enumerate(units):
        tf = _count("\n".join(chunks.get(u, ())))
        file_tf.update(tf)
        tf.update(tokenize(s.qualname) * 2)  # a method's body rarely names its class
        tf.update(path_tf)
        for t, n in tf.items():
            post[t].extend((u, n))  # flat int arrays: few objects for the garbage collector
        unit_len.append(sum(tf.values()))
    file_tf.update(_count("\n".join(chunks.get(-1, ()))))
    unit_refs: list[set] = [set() for _ in units]
    for name, line in refs:
        if 0 < line <= len(owner) and owner[line - 1] >= 0:
            unit_refs[owner[line - 1]].add(name)
    return FileDoc(units, unit_len, dict(post), dict(file_tf), sum(file_tf.values()), len(lines),
                   array("i", owner), [tuple(r) for r in unit_refs])


def file_doc(index: Index, path: str) -> FileDoc:
    text = index.read(path)
    key_fn = getattr(index, "blob_key", None)
    key = f"{path}\0{key_fn(path) if key_fn else hashlib.sha1(text.encode()).hexdigest()}"
    doc = _CACHE.get(key)
    if doc is None:
        syms = index.symbols_in(path) if hasattr(index, "symbols_in") else [
            s for s in index.symbols() if s.path == path]
        refs = index.references(path) if hasattr(index, "references") else []
        doc = _build(path, text, syms, refs)
        _CACHE[key] = doc
        if len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return doc


class Corpus:
    """Every indexed file's FileDoc plus collection statistics for BM25."""

    def __init__(self, index: Index):
        self.files = index.files()
        self.docs = [file_doc(index, p) for p in self.files]
        self.pos = {p: i for i, p in enumerate(self.files)}
        n_units = sum(len(d.units) for d in self.docs)
        self.avg_file = sum(d.file_len for d in self.docs) / max(len(self.docs), 1)
        self.avg_unit = sum(sum(d.unit_len) for d in self.docs) / max(n_units, 1)
        self.n_units = n_units

    def bm25(self, query: Counter) -> tuple[dict[str, float], dict[tuple[int, int], float]]:
        """Scores of files and of units ((file position, unit position)) for weighted query terms."""
        fscore: dict[str, float] = defaultdict(float)
        uscore: dict[tuple[int, int], float] = defaultdict(float)
        nf = len(self.docs)
        for term, qw in query.items():
            hits = [(i, d) for i, d in enumerate(self.docs) if term in d.file_tf]
            if not hits:
                continue
            idf = math.log(1 + (nf - len(hits) + 0.5) / (len(hits) + 0.5))
            udf = sum(len(d.post.get(term, ())) for _, d in hits) // 2
            uidf = math.log(1 + (self.n_units - udf + 0.5) / (udf + 0.5))
            for i, d in hits:
                tf = d.file_tf[term]
                norm = BM25_K1 * (1 - BM25_B + BM25_B * d.file_len / self.avg_file)
                fscore[self.files[i]] += qw * idf * tf * (BM25_K1 + 1) / (tf + norm)
                for u, utf in pairs(d.post.get(term, ())):
                    unorm = BM25_K1 * (1 - BM25_B + BM25_B * d.unit_len[u] / self.avg_unit)
                    uscore[(i, u)] += qw * uidf * utf * (BM25_K1 + 1) / (utf + unorm)
        return dict(fscore), dict(uscore)
