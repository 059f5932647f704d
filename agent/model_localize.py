"""The optional model stage of localization (`run.model_localize`): the model picks files from the
retriever's candidates, then units from those files' outlines, and its picks are merged with the
ranking. Reading the replies and merging are deterministic (tools.localize.rerank); this module
asks. Used by the localize node and by benchmarks/localization.py, which passes its own `ask`."""
from __future__ import annotations

from typing import Callable

from agent import prompting
from tools.localize import Localization
from tools.localize.rerank import file_listing, merge, pick_files, pick_symbols, skeleton
from tools.tokens import CountTokens

PICK_FILES, PICK_SYMBOLS = 5, 10
CANDIDATES = 25   # files the model chooses from


def refine(repo_index, issue_text: str, wide: Localization, ask: Callable[[list[dict]], str], *,
           top_files: int, top_symbols: int, budget: int, count_tokens: CountTokens) -> tuple[Localization, dict]:
    """The ranking `wide` (at least CANDIDATES files) cut to `top_files`, with the model's picks
    first, and the picks themselves. A reply naming nothing usable keeps the ranking.
    `ask(messages) -> str` is one model call."""
    loc = Localization(wide.files[:top_files], wide.symbols, wide.windows)
    listing, candidates = file_listing(repo_index, wide, CANDIDATES)
    if not candidates:
        return loc, {}
    files = pick_files(ask(prompting.pick_files_messages(issue_text, listing, PICK_FILES)), candidates, PICK_FILES)
    if not files:
        return loc, {"files": [], "symbols": [], "note": "the reply named no candidate file"}
    outline, shown = skeleton(repo_index, files, budget, count_tokens=count_tokens)
    symbols = []
    if shown:
        example = next((s.qualname for s in shown if s.kind in ("function", "method")), shown[0].qualname)
        symbols = pick_symbols(ask(prompting.pick_symbols_messages(issue_text, outline, PICK_SYMBOLS, example)),
                               shown, PICK_SYMBOLS)
    merged = merge(wide, files, symbols)
    merged = Localization(merged.files[:top_files], merged.symbols[:top_symbols], merged.windows)
    return merged, {"files": files, "symbols": [[s.path, s.qualname] for s in symbols]}
