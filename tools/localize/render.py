"""Render a localization as the code shown to the model: best files first, never over the token budget."""
from __future__ import annotations

from collections import defaultdict

from tools.index.base import Index
from tools.localize.fuse import Localization
from tools.localize.text import lines_of
from tools.tokens import CountTokens, estimate_tokens

SMALL_FILE_LINES = 120   # shown whole when it fits: the model sees imports and helpers too
MAX_SNIPPET_LINES = 150
WEAK_WINDOW = 0.25       # windows scoring under this share of their file's best are left out


def _listing(lines: list[str], start: int, end: int, numbered: bool) -> str:
    """Lines start..end in a fence: each with its number (`  404 | `), or plain under `lines A-B:`."""
    if numbered:
        body = "\n".join(f"{n:>5} | {lines[n - 1]}" for n in range(start, end + 1))
        return f"```\n{body}\n```\n"
    body = "\n".join(lines[start - 1:end])
    return f"lines {start}-{end}:\n```\n{body}\n```\n"


def render_code(index: Index, loc: Localization, budget_tokens: int,
                count_tokens: CountTokens = estimate_tokens, numbered: bool = True) -> str:
    """Whole small files, else their ranked windows (symbols, traceback lines), else an outline;
    `numbered`: each line with its number (run.line_numbers)."""
    parts: list[str] = []

    def fits(extra: str) -> bool:
        return count_tokens("".join(parts) + extra) <= budget_tokens

    scored: dict[str, list[tuple[float, int, int]]] = defaultdict(list)
    for path, start, end, score in loc.windows:
        scored[path].append((score, start, end))
    if not loc.windows:  # localizations built by hand may carry symbols only
        for sym, score in loc.symbols:
            scored[sym.path].append((score, sym.start_line, sym.end_line))
    ranges: dict[str, list[tuple[int, int]]] = {}
    for path, items in scored.items():
        # Weak windows next to a strong one in the same file are noise for the model.
        best = max(s for s, _, _ in items)
        ranges[path] = [(a, b) for s, a, b in sorted(items, key=lambda t: -t[0])
                        if s >= WEAK_WINDOW * best]
    for path, score in loc.files:
        try:
            lines = lines_of(index.read(path))
        except Exception:  # a file deleted since indexing must not sink the whole listing
            continue
        if not lines:
            continue
        header = f"## {path} (score {score:.2f})\n"
        whole = header + _listing(lines, 1, len(lines), numbered)
        if len(lines) <= SMALL_FILE_LINES and fits(whole):
            parts.append(whole)
            continue
        section, shown = header, set()
        spans = [(a, min(b, len(lines))) for a, b in ranges.get(path, [])]
        if not spans:  # no ranked window here: an outline still tells the model where to look
            outline = [s for s in index.symbols_in(path) if "." not in s.qualname] if hasattr(
                index, "symbols_in") else [s for s in index.symbols() if s.path == path and "." not in s.qualname]
            spans = [(s.start_line, s.start_line) for s in outline[:40]] or [(1, min(30, len(lines)))]
        for start, end in spans:
            for run in _uncovered(start, end, shown):
                snippet = _fit_snippet(lines, run, lambda s: fits(section + s), numbered)
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


def _fit_snippet(lines, run, ok, numbered: bool = True):
    """The longest prefix of the run that fits; a def line alone still tells the model a lot."""
    start, end = run
    end = min(end, start + MAX_SNIPPET_LINES - 1)
    if start > end:
        return None

    def render(last: int) -> str:
        cut = "" if last >= run[1] else f"... ({run[1] - last} more lines)\n"
        return _listing(lines, start, last, numbered) + cut

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
