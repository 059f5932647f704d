"""Ask the model for edits (SEARCH/REPLACE blocks, or whole-function rewrites: agent/edit_format.py
says which), apply them, and turn them into a checked unified diff.

Edits that do not apply go back to the model with what went wrong (the closest real lines, the
closest function names): a conversation inside one attempt. Test failures come back from verify
as a new attempt with the failing output.
"""
from __future__ import annotations

from pathlib import Path

from agent import prompting
from agent.deps import Deps
from agent.edit_format import EditFormat, resolve_edit_format
from tools.edits import apply_blocks, apply_rewrites, feedback, parse_blocks, parse_rewrites, rewrite_feedback
from tools.edits.diff import check_applies, diff_worktree, reset_worktree
from tools.errors import PatchApplyError

_UNCHANGED = {
    "search_replace": "Your blocks applied but changed nothing: the REPLACE text equals the SEARCH text.",
    "whole_function": "Your FUNCTION blocks applied but changed nothing: each new definition equals the old one.",
}


def patch(state: dict, deps: Deps) -> dict:
    root = Path(state["workspace_dir"])
    attempt = state.get("attempt", 0) + 1
    previous = state["attempts"][-1] if state.get("attempts") else {}
    edit_format = resolve_edit_format(deps.settings)
    messages = prompting.patch_messages(
        prompting.issue_text(deps, state["issue"]),
        state["code_shown"] if "code_shown" in state else state["context"],  # the name before issue 11
        state.get("locations"),
        previous_diff=previous.get("diff", ""),
        test_feedback=state.get("test_feedback", ""),
        edit_format=edit_format,
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
        problem = _apply(root, reply.content, edit_format, deps, state["workspace_dir"])
        if not problem:
            diff = diff_worktree(root)
            if diff.strip():
                reset_worktree(root)  # the diff is the attempt: verify applies it to the base files itself
                check_applies(root, diff)
                return {"attempt": attempt, "diff": diff, "exit_status": "running",
                        "attempts": [{"attempt": attempt, "diff": diff, "outcome": "applied", "turns": turn + 1,
                                      "edit_format": edit_format}]}
            problem = _UNCHANGED[edit_format]
        messages += prompting.feedback_on_edits(reply.content, problem, edit_format=edit_format)
    reset_worktree(root)  # no edit of this attempt stays: the next one, or deliver, sees the base files
    # The format goes in every attempt record, so applicable-edit rates can be counted per format.
    return {"attempt": attempt, "diff": "", "exit_status": "patch_failed",
            "reason": f"attempt {attempt}: no applicable edit: {problem.splitlines()[0] if problem else ''}",
            "attempts": [{"attempt": attempt, "diff": "", "outcome": "patch_failed", "problem": problem,
                          "edit_format": edit_format}]}


def _apply(root: Path, reply: str, edit_format: EditFormat, deps: Deps, workspace: str) -> str:
    """Apply every edit; return feedback text for the model, empty when all applied. When some
    fail, the others stay applied only until patch resets for the next answer, which must repeat
    them (the edit feedback templates say so). Only parsing raises PatchApplyError."""
    try:
        if edit_format == "whole_function":
            # The index (built from these base files) lets a wrong name point at the file defining it.
            return rewrite_feedback(apply_rewrites(root, parse_rewrites(reply), deps.index_for(workspace)).failures)
        return feedback(apply_blocks(root, parse_blocks(reply)).failures)
    except PatchApplyError as e:
        return str(e)
