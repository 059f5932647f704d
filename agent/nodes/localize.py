"""Rank the files and symbols to change, and render them within the patch prompt's code budget."""
from __future__ import annotations

from agent import prompting
from agent.deps import Deps
from agent.model_localize import CANDIDATES, refine
from tools.issue_sources import text_of
from tools.localize import Localization, localize as rank, render_code


def code_within(state: dict, deps: Deps, tokens: int) -> str:
    """The localization in the state rendered again within `tokens` (agent mode's opening has a
    smaller share than the patch prompt): the ranked windows kept, best first, where cutting
    code_shown in the middle lost the top-ranked function (seen on pytest-5809)."""
    found = state.get("locations") or {}
    windows = [tuple(w) for w in found.get("windows") or []] or [
        (path, start, end, score) for path, _, start, end, score in found.get("symbols") or []]
    loc = Localization([tuple(f) for f in found.get("files") or []], [], windows)
    return render_code(deps.index_for(state["workspace_dir"]), loc, max(tokens, 0), count_tokens=deps.count_tokens,
                       numbered=deps.settings.run.line_numbers)


def localize(state: dict, deps: Deps) -> dict:
    issue_text = prompting.issue_text(deps, state["issue"])
    repo_index = deps.index_for(state["workspace_dir"])
    cfg = deps.settings.run
    # The model stage chooses among more candidates than the prompt shows: rank them once.
    wanted = max(cfg.top_files, CANDIDATES) if cfg.model_localize else cfg.top_files
    # Ranking reads all the state holds (bounded by ingest), more than the prompt shows: a path or
    # a traceback deep in a long issue still points at the code.
    found = rank(repo_index, text_of(state["issue"]), top_files=wanted, top_symbols=cfg.top_symbols)
    loc = Localization(found.files[:cfg.top_files], found.symbols, found.windows)
    budget = prompting.code_budget(deps, issue_text)
    picks = {}
    if cfg.model_localize:
        loc, picks = refine(repo_index, issue_text, found, lambda messages: deps.ask("localize", messages).content,
                            top_files=cfg.top_files, top_symbols=cfg.top_symbols, budget=budget,
                            count_tokens=deps.count_tokens)
    return {
        "locations": {
            "files": [[path, round(score, 4)] for path, score in loc.files],
            "symbols": [[s.path, s.qualname, s.start_line, s.end_line, round(score, 4)] for s, score in loc.symbols],
            "windows": [[path, start, end, round(score, 4)] for path, start, end, score in loc.windows[:20]],
        },
        "code_shown": render_code(repo_index, loc, budget, count_tokens=deps.count_tokens, numbered=cfg.line_numbers),
        "code_budget": budget,
        **({"model_picks": picks} if picks else {}),
    }
