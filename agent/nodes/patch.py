"""Ask the model for SEARCH/REPLACE edits, apply them, and turn them into a checked unified diff.

Edits that do not apply go back to the model with the closest real lines (a conversation inside
one attempt); test failures come back from verify as a new attempt with the failing output.
"""
from __future__ import annotations

from pathlib import Path

from agent import prompting
from agent.deps import Deps
from tools.edits import apply_blocks, feedback, parse_blocks
from tools.edits.diff import check_applies, diff_worktree, reset_worktree
from tools.errors import PatchApplyError


def patch(state: dict, deps: Deps) -> dict:
    root = Path(state["workspace_dir"])
    attempt = state.get("attempt", 0) + 1
    previous = state["attempts"][-1] if state.get("attempts") else {}
    messages = prompting.patch_messages(
        prompting.issue_text(deps, state["issue"]),
        state["code_shown"] if "code_shown" in state else state["context"],  # the name before issue 11
        state.get("locations"),
        previous_diff=previous.get("diff", ""),
        test_feedback=state.get("test_feedback", ""),
    )
    problem = ""
    for turn in range(deps.settings.run.max_edit_retries + 1):
        if turn and (spent := deps.over_budget()):  # the attempt's first ask always goes: after_* routes on the budget
            problem = spent
            break
        reply = deps.ask("patch", messages)
        # Every answer applies to the base files: the previous answer's blocks may have applied in
        # part, and a run killed while editing resumes here with its edits still in the working copy.
        reset_worktree(root)
        problem = _apply(root, reply.content)
        if not problem:
            diff = diff_worktree(root)
            if diff.strip():
                reset_worktree(root)  # the diff is the attempt: verify applies it to the base files itself
                check_applies(root, diff)
                return {"attempt": attempt, "diff": diff, "exit_status": "running",
                        "attempts": [{"attempt": attempt, "diff": diff, "outcome": "applied", "turns": turn + 1}]}
            problem = "Your blocks applied but changed nothing: the REPLACE text equals the SEARCH text."
        messages += prompting.feedback_on_edits(reply.content, problem)
    reset_worktree(root)  # no edit of this attempt stays: the next one, or deliver, sees the base files
    return {"attempt": attempt, "diff": "", "exit_status": "patch_failed",
            "reason": f"attempt {attempt}: no applicable edit: {problem.splitlines()[0] if problem else ''}",
            "attempts": [{"attempt": attempt, "diff": "", "outcome": "patch_failed", "problem": problem}]}


def _apply(root: Path, reply: str) -> str:
    """Apply every block; return feedback text for the model, empty when all applied. When some
    fail, the others stay applied only until patch resets for the next answer, which must repeat
    them (edit_feedback.j2 says so)."""
    try:
        blocks = parse_blocks(reply)
    except PatchApplyError as e:
        return str(e)
    result = apply_blocks(root, blocks)
    if result.failures:
        return feedback(result.failures)
    return ""
