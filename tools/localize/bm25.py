"""Rank files and symbols for an issue with BM25, then render them as model context.

BM25 alone ranks by vocabulary; issues also name things exactly (traceback frames, file paths,
`identifiers`), and those mentions are the strongest evidence we have, so they add boosts on top
of the normalised BM25 scores.
"""
from __future__ import annotations

import functools
import math
import re
import weakref
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import chain

import bm25s

from tools.index.base import Index, Symbol

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUBWORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_FRAME = re.compile(r'File "([^"]+)", line (\d+)(?:, in ([\w<>.]+))?')
_PATH = re.compile(r"[\w./\\-]*\w\.py\b")
_DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b")
_TRACEBACK_NOISE = re.compile(r"Traceback \(most recent call last\):")
_BACKTICK = re.compile(r"`([^`\n]+)`")
_FENCED = re.compile(r"```.*?(?:```|\Z)", re.S)
_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")
_STOP = set("""a an and are as at be but by can do does for from has have i if in into is it its
not of on or so that the their then there this to was we when which while will with you your
self cls def return import class none true false elif else try except raise pass lambda py
""".split())
# Names too generic to count as a deliberate mention even when written like code.
_GENERIC = {"__init__", "main", "run", "get", "set", "test", "setup", "__call__", "call", "name"}

FRAME_BOOST, PATH_BOOST, NAME_BOOST, QUALNAME_BOOST = 1.0, 0.6, 0.5, 0.7
TEST_PENALTY = 0.4          # tests explain a bug but are rarely where the fix goes
FILE_SHARE = 0.25           # a symbol inherits part of its file's evidence
SMALL_FILE_LINES = 120
MAX_SNIPPET_LINES = 150


@dataclass
class Localization:
    files: list[tuple[str, float]]
    symbols: list[tuple[Symbol, float]]


def tokenize(text: str) -> list[str]:
    """Split identifiers into lower-case subwords, and keep compound identifiers whole too."""
    out: list[str] = []
    for ident in _IDENT.findall(text):
        out.extend(_terms(ident))
    return out


@functools.lru_cache(maxsize=200_000)  # identifiers repeat a lot across a repository
def _terms(ident: str) -> tuple[str, ...]:
    parts = [p.lower() for chunk in ident.split("_") for p in _SUBWORD.findall(chunk)]
    parts = [p for p in parts if len(p) > 1 and not p.isdigit() and p not in _STOP]
    whole = ident.lower().strip("_")
    if len(parts) > 1 or (parts and whole != parts[0]):
        return (whole, *parts)  # an exact mention of `parse_header` outranks "parse" + "header"
    return tuple(parts)


def is_test_path(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return (any(p in ("tests", "test", "testing") for p in parts[:-1]) or name.startswith("test_")
            or name.endswith("_test.py") or name == "conftest.py")


_MODELS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _models(index: Index):
    """BM25 models are cached per index because the agent may localize several times."""
    cached = _MODELS.get(index)
    if cached is None:
        files, syms = index.files(), index.symbols()
        # Tokenized once per line, so nested symbols reuse their enclosing file's work.
        per_line = {p: [tokenize(ln) for ln in _lines(index.read(p))] for p in files}
        fdocs = [tokenize(p) * 3 + list(chain.from_iterable(per_line[p])) for p in files]
        # No path tokens here: file-level evidence reaches symbols through FILE_SHARE instead,
        # so "has evidence of its own" below really means the symbol's own text matched.
        sdocs = [tokenize(s.qualname) * 2 + tokenize(s.signature) + tokenize(s.docstring)
                 + list(chain.from_iterable(per_line.get(s.path, [])[s.start_line - 1:s.end_line]))
                 for s in syms]
        cached = (files, syms, _bm25(fdocs), _bm25(sdocs))
        _MODELS[index] = cached
    return cached


def _bm25(docs: list[list[str]]):
    if not docs:
        return None
    model = bm25s.BM25()
    model.index(docs, show_progress=False)
    return model


def _normalized(model, query: list[str], n: int) -> list[float]:
    if model is None or not query:
        return [0.0] * n
    scores = [float(x) for x in model.get_scores(query)]
    top = max(scores, default=0.0)
    return [s / top for s in scores] if top > 0 else [0.0] * n


def _match_path(mention: str, files: list[str]) -> tuple[list[str], int]:
    """Files sharing the longest trailing run of path components with `mention`.

    A bare basename shared with an unrelated file (site-packages/x/utils.py vs utils.py) is weak
    evidence, so callers get the match length to weigh it.
    """
    want = [p for p in mention.replace("\\", "/").split("/") if p not in ("", ".")]
    best, hits = 0, []
    for f in files:
        have = f.split("/")
        n = 0
        while n < min(len(want), len(have)) and want[-1 - n] == have[-1 - n]:
            n += 1
        if n and n > best:
            best, hits = n, [f]
        elif n and n == best:
            hits.append(f)
    return hits, best


def _frame_terms(m: re.Match) -> str:
    # Only the file name and function of a frame are about the project; the rest is boilerplate.
    name = m.group(1).replace("\\", "/").rsplit("/", 1)[-1]
    return f" {name} {m.group(3) or ''} "


def _strong(mention: str, matched: int) -> bool:
    return matched >= 2 or "/" not in mention.replace("\\", "/")


def _code_names(query: str) -> set[str]:
    """Identifiers the issue writes as code, not prose words that happen to match a name."""
    names: set[str] = set()
    for block in _FENCED.findall(query) + _BACKTICK.findall(query):
        names.update(_IDENT.findall(block))
    names.update(_CALL.findall(query))
    names.update(w for w in _IDENT.findall(query)
                 if "_" in w.strip("_") or re.search(r"[a-z][A-Z]", w) or w[0].isupper())
    return {n for n in names if len(n) >= 3 and n not in _GENERIC and n.lower() not in _STOP}


def localize(index: Index, query: str, *, top_files: int = 10,
             top_symbols: int = 20) -> Localization:
    files, syms, fmodel, smodel = _models(index)
    qtokens = tokenize(_TRACEBACK_NOISE.sub(" ", _FRAME.sub(_frame_terms, query)))
    fscore = dict(zip(files, _normalized(fmodel, qtokens, len(files))))
    sscore = _normalized(smodel, qtokens, len(syms))
    fboost: Counter = Counter()
    sboost: Counter = Counter()
    named: set[str] = set()

    frames = [m for m in _FRAME.finditer(query)]
    for depth, m in enumerate(reversed(frames)):  # innermost frame is the likeliest bug site
        hits, n = _match_path(m.group(1), files)
        weight = FRAME_BOOST * 0.7 ** depth * (1.0 if _strong(m.group(1), n) else 0.5)
        line, func = int(m.group(2)), m.group(3)
        for f in hits if len(hits) <= 3 else []:  # "__init__.py" alone pins down nothing
            named.add(f)
            fboost[f] = max(fboost[f], weight)
            inside = [i for i, s in enumerate(syms) if s.path == f and s.start_line <= line <= s.end_line]
            inside.sort(key=lambda i: syms[i].end_line - syms[i].start_line)
            for rank, i in enumerate(inside):
                bonus = weight * (1.0 if syms[i].name == func else 0.6) * 0.7 ** rank
                sboost[i] = max(sboost[i], bonus)
    for m in _PATH.finditer(_FRAME.sub(" ", query)):  # frames were weighed by depth above
        hits, n = _match_path(m.group(0), files)
        for f in hits if len(hits) <= 3 and _strong(m.group(0), n) else []:
            named.add(f)
            fboost[f] = max(fboost[f], PATH_BOOST)

    names = _code_names(query)
    # "pkg.mod.Parser.parse" names the symbol "Parser.parse": keep every 2+ part suffix.
    dotted = {".".join(parts[k:]) for d in _DOTTED.findall(query)
              for parts in [d.split(".")] for k in range(len(parts) - 1)}
    by_name: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(syms):
        by_name[s.name].append(i)
    for name in names & by_name.keys():
        weight = NAME_BOOST / math.sqrt(len(by_name[name]))  # a name defined everywhere says little
        for i in by_name[name]:
            sboost[i] = max(sboost[i], weight)
            fboost[syms[i].path] = max(fboost[syms[i].path], weight * 0.8)
    for i, s in enumerate(syms):
        if "." in s.qualname and s.qualname in dotted:
            sboost[i] = max(sboost[i], QUALNAME_BOOST)
            fboost[s.path] = max(fboost[s.path], QUALNAME_BOOST * 0.8)

    def penalty(path: str) -> float:
        return TEST_PENALTY if is_test_path(path) and path not in named else 1.0

    ffinal = {f: (fscore[f] + fboost[f]) * penalty(f) for f in files}
    # A symbol needs evidence of its own; its file's score only orders those that have some.
    sfinal = [((sscore[i] + sboost[i] + FILE_SHARE * ffinal[s.path]) * penalty(s.path), i)
              for i, s in enumerate(syms) if sscore[i] + sboost[i] > 0]
    ranked_files = sorted(((f, v) for f, v in ffinal.items() if v > 0), key=lambda t: (-t[1], t[0]))
    ranked_syms = sorted((t for t in sfinal if t[0] > 0),
                         key=lambda t: (-t[0], syms[t[1]].path, syms[t[1]].start_line))
    return Localization(files=[(f, round(v, 6)) for f, v in ranked_files[:top_files]],
                        symbols=[(syms[i], round(v, 6)) for v, i in ranked_syms[:top_symbols]])


def _lines(text: str) -> list[str]:
    # Newlines only, as tree-sitter counts them; str.splitlines also splits at form feeds.
    lines = text.replace("\r\n", "\n").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def _numbered(lines: list[str], start: int, end: int) -> str:
    body = "\n".join(f"{n:>5} | {lines[n - 1]}" for n in range(start, end + 1))
    return f"```\n{body}\n```\n"


def render_context(index: Index, loc: Localization, budget_tokens: int,
                   count_tokens=lambda s: len(s) // 3) -> str:
    """Best files first; whole small files, else their ranked symbols; never over budget."""
    parts: list[str] = []

    def fits(extra: str) -> bool:
        return count_tokens("".join(parts) + extra) <= budget_tokens

    by_file: dict[str, list[Symbol]] = defaultdict(list)
    for sym, _ in loc.symbols:
        by_file[sym.path].append(sym)
    for path, score in loc.files:
        try:
            lines = _lines(index.read(path))
        except Exception:  # a file deleted since indexing must not sink the whole context
            continue
        if not lines:
            continue
        header = f"## {path} (score {score:.2f})\n"
        whole = header + _numbered(lines, 1, len(lines))
        if len(lines) <= SMALL_FILE_LINES and fits(whole):
            parts.append(whole)
            continue
        section, shown = header, set()
        ranges = [(s.start_line, min(s.end_line, len(lines))) for s in by_file.get(path, [])]
        if not ranges:  # no ranked symbol here: an outline still tells the model where to look
            outline = [s for s in index.symbols() if s.path == path and "." not in s.qualname]
            ranges = [(s.start_line, s.start_line) for s in outline[:40]] or [(1, min(30, len(lines)))]
        for start, end in ranges:
            for run in _uncovered(start, end, shown):
                snippet = _fit_snippet(lines, run, lambda s: fits(section + s))
                if snippet is None:
                    continue
                section += snippet[0]
                shown.update(range(snippet[1][0], snippet[1][1] + 1))
        if section != header:
            parts.append(section)
    text = "".join(parts)
    return text if count_tokens(text) <= budget_tokens else ""


def _uncovered(start: int, end: int, shown: set[int]) -> list[tuple[int, int]]:
    runs, cur = [], None
    for n in range(start, end + 1):
        if n in shown:
            if cur:
                runs.append(cur)
            cur = None
        else:
            cur = (cur[0], n) if cur else (n, n)
    return runs + [cur] if cur else runs


def _fit_snippet(lines, run, ok):
    """The longest prefix of the run that fits; a def line alone still tells the model a lot."""
    start, end = run
    end = min(end, start + MAX_SNIPPET_LINES - 1)
    if start > end:
        return None

    def render(last: int) -> str:
        cut = "" if last >= run[1] else f"... ({run[1] - last} more lines)\n"
        return _numbered(lines, start, last) + cut

    if ok(render(end)):
        return render(end), (start, end)
    lo, hi = start, end - 1
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        if ok(render(mid)):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return (render(best), (start, best)) if best is not None else None
