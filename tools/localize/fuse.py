"""Fuse the signals into one ranking of files, then units (functions, methods, classes), then
line windows.

A weighted sum of per-signal scores (each already in [0, 1]) times a file-role prior. The weights
are a handful of numbers chosen on the development half of our SWE-bench split (instance-id hash,
see benchmarks/localization.py) and checked on the other half; nothing is trained.
"""
from __future__ import annotations

import weakref
from collections import Counter
from dataclasses import dataclass, field

from tools.index.base import Index, Symbol
from tools.localize import signals as sig
from tools.localize.corpus import Corpus
from tools.localize.issue import parse_issue
from tools.localize.roles import MINORITY_LANGUAGE, MINORITY_SHARE, prior

# Chosen by benchmarks/localization_tune.py on the dev half (coordinate ascent, floors for the
# rare direct-evidence signals; the optional `embed` weighed last, on top of the core); the test
# half is reported with them, unseen.
FILE_WEIGHTS = {"bm25": 3.0, "identifiers": 0.5, "mentions": 1.5, "paths": 3.0, "trace": 1.5,
                "messages": 1.0, "imports": 0.5, "exceptions": 0.3, "tests": 0.6, "graph": 0.15,
                "calls": 0.3, "embed": 0.3}
UNIT_WEIGHTS = {"bm25": 1.0, "identifiers": 0.0, "mentions": 0.15, "paths": 1.5, "trace": 1.5,
                "messages": 0.5, "imports": 1.0, "calls": 0.5}
FILE_SHARE = 0.5        # a unit inherits part of its file's score: the fix is in a likely file
SEED_SIGNALS = ("mentions", "paths", "trace", "messages", "imports", "tests")
WINDOW_CONTEXT = 6      # lines either side of a line the issue points at
MAX_WINDOW = 80

_CORPORA: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


@dataclass
class Localization:
    files: list[tuple[str, float]]
    symbols: list[tuple[Symbol, float]]
    windows: list[tuple[str, int, int, float]] = field(default_factory=list)  # path, start, end, score


def corpus_for(index: Index) -> Corpus:
    """Term statistics are cached per index because the agent may localize several times."""
    corpus = _CORPORA.get(index)
    if corpus is None:
        corpus = _CORPORA[index] = Corpus(index)
    return corpus


def gather(index: Index, query: str, names=None) -> tuple[sig.Lookups, dict[str, sig.Scores]]:
    """Run the signals (all, or those in `names`) for one issue."""
    look = sig.Lookups(index, corpus_for(index), parse_issue(query))
    wanted = names or list(sig.SIGNALS) + list(sig.SEEDED)
    found = {name: fn(look) for name, fn in sig.SIGNALS.items() if name in wanted}
    # The graph signals start from what the direct evidence found (seed files and units).
    fseeds: dict[str, float] = {}
    useeds: dict[tuple[int, int], float] = {}
    for name in SEED_SIGNALS:
        ev = found.get(name, sig.Scores())
        for f, v in ev.files.items():
            fseeds[f] = max(fseeds.get(f, 0.0), v)
        for k, v in ev.units.items():
            useeds[k] = max(useeds.get(k, 0.0), v)
    if "graph" in wanted:
        found["graph"] = sig.graph(look, fseeds)
    if "calls" in wanted:
        found["calls"] = sig.calls(look, useeds)
    return look, found


def rank(file_ev: dict, unit_ev: dict, unit_file, named: set[str], *, file_weights=None,
         unit_weights=None, minority: set[str] = frozenset()) -> tuple[list, list]:
    """The fusion arithmetic on plain scores: {signal: {file: score}}, {signal: {unit: score}}.

    `unit_file(unit)` names a unit's file. Kept free of the index so weights can be tuned on
    stored signal scores (benchmarks/localization.py --tune).
    """
    fw, uw = file_weights or FILE_WEIGHTS, unit_weights or UNIT_WEIGHTS
    fscore: dict[str, float] = {}
    for name, scores in file_ev.items():
        w = fw.get(name, 0.0)
        for f, v in scores.items():
            fscore[f] = fscore.get(f, 0.0) + w * v
    # Tests, docs and examples rarely hold the fix, unless the issue points into them.
    def file_prior(f: str) -> float:
        return 1.0 if f in named else prior(f) * (MINORITY_LANGUAGE if f in minority else 1.0)

    fscore = {f: v * file_prior(f) for f, v in fscore.items() if v > 0}
    ranked_files = sorted(fscore.items(), key=lambda t: (-t[1], t[0]))
    uscore: dict = {}
    for name, scores in unit_ev.items():
        w = uw.get(name, 0.0)
        for k, v in scores.items():
            uscore[k] = uscore.get(k, 0.0) + w * v
    top_f = ranked_files[0][1] if ranked_files else 1.0
    # A unit needs evidence of its own; its file's score then orders the candidates.
    final = {k: v * file_prior(unit_file(k)) + FILE_SHARE * fscore.get(unit_file(k), 0.0) / top_f
             for k, v in uscore.items() if v > 0}
    ranked_units = sorted(final.items(), key=lambda t: (-t[1], unit_file(t[0]), t[0]))
    return ranked_files, ranked_units


def named_files(found: dict) -> set[str]:
    """Files the issue points into directly (a path or a stack frame): no role penalty for them."""
    return set(found.get("paths", sig.Scores()).files) | set(found.get("trace", sig.Scores()).files)


def minority_files(look: sig.Lookups, found: dict) -> set[str]:
    """Candidate files written in a language rare in this repository."""
    lang = getattr(look.index, "language", lambda p: None)
    if not hasattr(look.corpus, "lang_share"):
        counts = Counter(lang(f) for f in look.files)
        look.corpus.lang_share = {k: v / max(len(look.files), 1) for k, v in counts.items()}
    cands = {f for ev in found.values() for f in ev.files}
    return {f for f in cands if look.corpus.lang_share.get(lang(f), 1.0) < MINORITY_SHARE}


def fuse(look: sig.Lookups, found: dict[str, sig.Scores], *, file_weights=None, unit_weights=None,
         top_files: int = 10, top_symbols: int = 20) -> Localization:
    files = look.corpus.files
    ranked_files, ranked_units = rank(
        {n: ev.files for n, ev in found.items()}, {n: ev.units for n, ev in found.items()},
        lambda k: files[k[0]], named_files(found), file_weights=file_weights, unit_weights=unit_weights,
        minority=minority_files(look, found))
    fscore = dict(ranked_files)
    symbols = [(look.corpus.docs[fi].units[ui], round(v, 6)) for (fi, ui), v in ranked_units[:top_symbols]]
    return Localization(files=[(f, round(v, 6)) for f, v in ranked_files[:top_files]],
                        symbols=symbols, windows=_windows(look, found, fscore, symbols))


def _windows(look, found, fscore, symbols) -> list[tuple[str, int, int, float]]:
    """Line ranges to show: around lines the issue points at, then the best units."""
    out: list[tuple[str, int, int, float]] = []
    for name in ("trace", "paths", "messages"):
        for path, line, w in found.get(name, sig.Scores()).lines:
            if path not in look.corpus.pos:
                continue
            doc = look.corpus.docs[look.corpus.pos[path]]
            a, b = max(1, line - WINDOW_CONTEXT), min(doc.n_lines, line + WINDOW_CONTEXT)
            key = look.unit_at(path, line)
            if key:  # stay inside the enclosing unit, or show all of it when it is short
                u = doc.units[key[1]]
                a, b = (u.start_line, u.end_line) if u.end_line - u.start_line < 40 else (
                    max(a, u.start_line), min(b, u.end_line))
            if a <= b:
                out.append((path, a, b, round(w * (1 + fscore.get(path, 0.0)), 6)))
    for s, score in symbols:
        out.append((s.path, s.start_line, min(s.end_line, s.start_line + MAX_WINDOW - 1), score))
    merged: dict[str, list[list]] = {}
    for path, a, b, score in sorted(out, key=lambda t: -t[3]):
        spans = merged.setdefault(path, [])
        for span in spans:
            if a <= span[1] and b >= span[0]:  # overlapping windows become one
                span[0], span[1] = min(span[0], a), max(span[1], b)
                break
        else:
            spans.append([a, b, score])
    flat = [(p, a, b, s) for p, spans in merged.items() for a, b, s in spans]
    return sorted(flat, key=lambda t: (-t[3], t[0], t[1]))


def localize(index: Index, query: str, *, top_files: int = 10, top_symbols: int = 20) -> Localization:
    """Rank files, units and line windows for an issue (title + body) over an index."""
    look, found = gather(index, query)
    return fuse(look, found, top_files=top_files, top_symbols=top_symbols)
