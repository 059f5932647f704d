"""Ask the model for SEARCH/REPLACE edits, apply them, and turn them into a checked unified diff.

Edits that do not apply go back to the model with the closest real lines (a conversation inside
one attempt); test failures come back from verify as a new attempt with the failing output.
"""
from __future__ import annotations

from pathlib import Path

from agent.deps import Deps
from prompts import render
from tools.edits import apply_blocks, feedback, parse_blocks
from tools.edits.diff import check_applies, diff_worktree, reset_worktree
from tools.errors import PatchApplyError


def patch(state: dict, deps: Deps) -> dict:
    root = Path(state["workspace_dir"])
    attempt = state.get("attempt", 0) + 1
    previous = state["attempts"][-1] if state.get("attempts") else None
    user = render(
        "patch.j2",
        issue_text=deps.issue_text(state["issue"]),
        context=state["context"],
        previous_patch=previous["diff"] if previous and previous.get("diff") else "",
        test_feedback=state.get("test_feedback", ""),
        example_path=_top_file(state),
    )
    # A worked example as a prior turn teaches the format far better than a description, most of
    # all to small models (they otherwise copy placeholder paths from the instructions).
    messages = [
        {"role": "system", "content": render("system.j2")},
        {"role": "user", "content": render("example_user.j2")},
        {"role": "assistant", "content": render("example_assistant.j2")},
        {"role": "user", "content": user},
    ]
    usage = dict(state["usage"])
    problem = ""
    for turn in range(deps.settings.run.max_edit_retries + 1):
        reply = deps.ask("patch", messages)
        usage["calls"] += 1
        usage["prompt_tokens"] += reply.prompt_tokens
        usage["completion_tokens"] += reply.completion_tokens
        reset_worktree(root)
        problem = _apply(root, reply.content)
        if not problem:
            diff = diff_worktree(root)
            if diff.strip():
                reset_worktree(root)
                check_applies(root, diff)
                return {"attempt": attempt, "diff": diff, "usage": usage, "exit_status": "running",
                        "attempts": state["attempts"] + [{"attempt": attempt, "diff": diff, "outcome": "applied", "turns": turn + 1}]}
            problem = "Your blocks applied but changed nothing: the REPLACE text equals the SEARCH text."
        messages += [{"role": "assistant", "content": reply.content},
                     {"role": "user", "content": render("edit_feedback.j2", feedback=problem)}]
    reset_worktree(root)
    return {"attempt": attempt, "diff": "", "usage": usage, "exit_status": "patch_failed",
            "reason": f"attempt {attempt}: no applicable edit: {problem.splitlines()[0] if problem else ''}",
            "attempts": state["attempts"] + [{"attempt": attempt, "diff": "", "outcome": "patch_failed", "problem": problem}]}


def _top_file(state: dict) -> str:
    files = (state.get("locations") or {}).get("files") or []
    return files[0][0] if files else "src/module.py"


def _apply(root: Path, reply: str) -> str:
    """Apply every block; return feedback text for the model, empty when all applied."""
    try:
        blocks = parse_blocks(reply)
    except PatchApplyError as e:
        return str(e)
    result = apply_blocks(root, blocks)
    if result.failures:
        reset_worktree(root)  # all or nothing, so the model's next answer starts from clean files
        return feedback(result.failures)
    return ""
