"""Rank the files and symbols to change, and render them within the model's prompt budget."""
from __future__ import annotations

from agent.deps import Deps
from prompts import render
from tools.issues import text_of
from tools.localize import Localization, localize as rank, render_context
from tools.localize.rerank import file_listing, merge, pick_files, pick_symbols, skeleton

PICK_FILES, PICK_SYMBOLS = 5, 10
CANDIDATES = 25   # files the model chooses from


def prompt_budget(deps: Deps, issue_text: str) -> int:
    """Tokens left for code after the reply, the fixed prompt parts and room for test feedback."""
    window = deps.model.context_window()
    reply = getattr(deps.settings.model, "max_tokens", 1024)
    fixed = deps.count_tokens(render("system.j2") + render("example_user.j2") + render("example_assistant.j2") + issue_text) + 300
    available = window - reply - fixed
    # Retries add the previous diff and the test output; keep room for them, but never most of a small window.
    feedback = min(deps.settings.run.feedback_chars // 3 + 1500, available // 3)
    return max(int((available - feedback) * 0.9), 0)


def localize(state: dict, deps: Deps) -> dict:
    issue_text = deps.issue_text(state["issue"])
    repo_index = deps.index_for(state["workspace_dir"])
    cfg = deps.settings.run
    # The model stage chooses among more candidates than the prompt shows: rank them once.
    wanted = max(cfg.top_files, CANDIDATES) if cfg.model_localize else cfg.top_files
    # Ranking reads all the state holds (bounded by ingest), more than the prompt shows: a path or
    # a traceback deep in a long issue still points at the code.
    found = rank(repo_index, text_of(state["issue"]), top_files=wanted, top_symbols=cfg.top_symbols)
    loc = Localization(found.files[:cfg.top_files], found.symbols, found.windows)
    budget = prompt_budget(deps, issue_text)
    picks = {}
    if cfg.model_localize:
        loc, picks = second_stage(repo_index, issue_text, found, lambda messages: deps.ask("localize", messages).content,
                                  top_files=cfg.top_files, top_symbols=cfg.top_symbols, budget=budget,
                                  count_tokens=deps.count_tokens)
    context = render_context(repo_index, loc, budget, count_tokens=deps.count_tokens)
    return {
        "locations": {
            "files": [[path, round(score, 4)] for path, score in loc.files],
            "symbols": [[s.path, s.qualname, s.start_line, s.end_line, round(score, 4)] for s, score in loc.symbols],
            "windows": [[path, start, end, round(score, 4)] for path, start, end, score in loc.windows[:20]],
        },
        "context": context,
        "context_budget": budget,
        **({"model_picks": picks} if picks else {}),
    }


def second_stage(repo_index, issue_text: str, wide: Localization, ask, *, top_files: int, top_symbols: int,
                 budget: int, count_tokens):
    """The model picks files from the retriever's candidates (`wide`), then units from those files'
    outlines; its picks are merged with the ranking. A reply naming nothing usable keeps the
    ranking. `ask(messages) -> str` is one model call (the benchmark passes its own)."""
    loc = Localization(wide.files[:top_files], wide.symbols, wide.windows)
    listing, candidates = file_listing(repo_index, wide, CANDIDATES)
    if not candidates:
        return loc, {}
    files = pick_files(ask([{"role": "user", "content": render(
        "localize_files.j2", issue_text=issue_text, listing=listing, limit=PICK_FILES)}]), candidates, PICK_FILES)
    if not files:
        return loc, {"files": [], "symbols": [], "note": "the reply named no candidate file"}
    outline, shown = skeleton(repo_index, files, budget, count_tokens=count_tokens)
    symbols = []
    if shown:
        example = next((s.qualname for s in shown if s.kind in ("function", "method")), shown[0].qualname)
        symbols = pick_symbols(ask([{"role": "user", "content": render(
            "localize_symbols.j2", issue_text=issue_text, skeleton=outline, limit=PICK_SYMBOLS,
            example=example)}]), shown, PICK_SYMBOLS)
    merged = merge(wide, files, symbols)
    merged = Localization(merged.files[:top_files], merged.symbols[:top_symbols], merged.windows)
    return merged, {"files": files, "symbols": [[s.path, s.qualname] for s in symbols]}

