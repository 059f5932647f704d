"""Rank the files and symbols to change, and render them within the model's prompt budget."""
from __future__ import annotations

from agent.deps import Deps
from prompts import render
from tools.localize import localize as rank, render_context


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
    issue_text = _issue_text(state["issue"])
    repo_index = deps.index_for(state["workspace_dir"])
    cfg = deps.settings.run
    loc = rank(repo_index, issue_text, top_files=cfg.top_files, top_symbols=cfg.top_symbols)
    budget = prompt_budget(deps, issue_text)
    context = render_context(repo_index, loc, budget, count_tokens=deps.count_tokens)
    return {
        "locations": {
            "files": [[path, round(score, 4)] for path, score in loc.files],
            "symbols": [[s.path, s.qualname, s.start_line, s.end_line, round(score, 4)] for s, score in loc.symbols],
            "windows": [[path, start, end, round(score, 4)] for path, start, end, score in loc.windows[:20]],
        },
        "context": context,
        "context_budget": budget,
    }


def _issue_text(issue: dict) -> str:
    title, body = issue.get("title") or "", issue["body"]
    return f"{title}\n\n{body}".strip() if title else body.strip()
