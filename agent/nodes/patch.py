"""Ask the model for edits (SEARCH/REPLACE blocks, or whole-function rewrites: agent/edit_format.py
says which), apply them, and turn them into a checked unified diff: run.samples candidates per
attempt (agent/nodes/candidates.py), of which verify tests each distinct one and keeps the best.

Edits that do not apply, or that leave a file unparseable, go back to the model with what went
wrong (the closest real lines, the closest function names, the syntax error): a conversation inside
one candidate. Test failures come back from verify as a new attempt with the failing output. Past the
run's budget no more candidates or edit turns are asked for; the candidates made so far are tested.
"""
from __future__ import annotations

from pathlib import Path

from agent import prompting
from agent.deps import Deps
from agent.edit_format import EditFormat, resolve_edit_format
from agent.nodes.candidates import (Slot, batches, made, plan, record as record_candidates, retry_temperature,
                                   with_votes)
from tools.edits import apply_blocks, apply_rewrites, feedback, parse_blocks, parse_rewrites, rewrite_feedback
from tools.edits.diff import check_applies, diff_worktree, reset_worktree
from tools.edits.syntax import syntax_feedback, syntax_problems
from tools.errors import PatchApplyError

_UNCHANGED = {
    "search_replace": "Your blocks applied but changed nothing: the REPLACE text equals the SEARCH text.",
    "whole_function": "Your FUNCTION blocks applied but changed nothing: each new definition equals the old one.",
}


def patch(state: dict, deps: Deps) -> dict:
    cfg = deps.settings.run
    attempt = state.get("attempt", 0) + 1
    previous = state["attempts"][-1] if state.get("attempts") else {}
    edit_format = resolve_edit_format(deps.settings)
    issue = prompting.issue_text(deps, state["issue"])
    code = state["code_shown"] if "code_shown" in state else state["context"]  # the name before issue 11
    reproduction = prompting.reproduction_shown(deps, issue, state.get("reproduction"))
    prompts = {variant: prompting.patch_messages(issue, shown, state.get("locations"), reproduction=reproduction,
                                                 previous_diff=previous.get("diff", ""),
                                                 test_feedback=state.get("test_feedback", ""), edit_format=edit_format,
                                                 line_numbers=cfg.line_numbers)
               for variant, shown in prompting.code_variants(code).items()}
    slots = plan(cfg.samples, cfg.sample_temperature, list(prompts))
    produced: list[dict] = []
    stopped = ""
    for batch in batches(slots):
        # The attempt's first ask always goes: after_* routes on the budget before a new attempt.
        if produced and (stopped := deps.over_budget(after=f"after {len(produced)} of {len(slots)} candidates")):
            break
        reply = deps.ask("patch", prompts[batch[0].variant], **_sampling(batch))
        for slot, text, cut in zip(batch, reply.choices, reply.cut):
            produced.append(_candidate(slot, prompts[slot.variant], text, cut, state["workspace_dir"], edit_format,
                                       deps))
    candidates = with_votes(produced)
    note = {"stopped": stopped} if stopped else {}
    several = {"candidates_made": len(candidates), **note} if len(slots) > 1 else {}
    done = {"attempt": attempt, "candidates": candidates, "selection": note}
    record_base = {"attempt": attempt, "edit_format": edit_format, **several}
    applied = [c for c in candidates if c["diff"]]
    if applied:  # verify tests each distinct one and makes the best the attempt's diff
        return {**done, "diff": applied[0]["diff"], "exit_status": "running",
                "attempts": [{**record_base, "diff": applied[0]["diff"], "outcome": "applied",
                              "turns": sum(c["turns"] for c in candidates)}]}
    record_candidates(deps, "patch", attempt, candidates)
    problem = candidates[0]["problem"]
    tried = f" in {len(candidates)} candidates" if len(candidates) > 1 else ""
    # The format goes in every attempt record, so applicable-edit rates can be counted per format.
    return {**done, "diff": "", "exit_status": "patch_failed",
            "reason": f"attempt {attempt}: no applicable edit{tried}: {problem.splitlines()[0] if problem else ''}",
            "attempts": [{**record_base, "diff": "", "outcome": "patch_failed", "problem": problem}]}


def _sampling(batch: list[Slot]) -> dict:
    """The request's options: n for a batch, the temperature unless it is the model's own."""
    options = {"n": len(batch)} if len(batch) > 1 else {}
    if batch[0].temperature is not None:
        options["temperature"] = batch[0].temperature
    return options


def _candidate(slot: Slot, messages: list[dict], reply: str, cut: bool, workspace: str, edit_format: EditFormat,
               deps: Deps) -> dict:
    """Apply one reply; edits that do not apply go back to the model with what went wrong, up to
    run.max_edit_retries more turns (each within the budget): a conversation of this candidate's.
    A reply the server cut at max_tokens (`cut`) is told so first: its broken last block is the
    cut's doing, and the model can fix that only by answering shorter."""
    root, retries, fixed = Path(workspace), deps.settings.run.max_edit_retries, len(messages)
    for turn in range(1, retries + 2):
        # Every answer applies to the base files: the previous answer's blocks may have applied in
        # part, and a run killed while editing resumes here with its edits still in the working copy.
        reset_worktree(root)
        problem = _apply(root, reply, edit_format, deps, workspace)
        if not problem:
            diff = diff_worktree(root)
            broken = syntax_problems(root, diff) if diff.strip() else []
            if broken:  # no test could even be collected: the model mends it, as it does a bad SEARCH
                problem = syntax_feedback(broken)
            elif diff.strip():
                reset_worktree(root)  # the diff is the candidate: verify applies it to the base files itself
                check_applies(root, diff)
                return made(slot, diff=diff, problem="", turns=turn)
            else:
                problem = _UNCHANGED[edit_format]
        if cut:
            problem = f"{prompting.reply_cut(deps, edit_format)}\n\n{problem}"
        if turn > retries:
            break
        if spent := deps.over_budget():
            problem = spent
            break
        messages = messages + prompting.feedback_on_edits(reply, problem, edit_format=edit_format)
        answer = deps.ask("patch", prompting.fit_to_window(deps, messages, fixed),
                          temperature=retry_temperature(deps.settings, slot.temperature))
        reply, cut = answer.content, answer.cut[0]
    reset_worktree(root)  # no edit of this candidate stays: the next one, verify or deliver sees the base files
    return made(slot, diff="", problem=problem, turns=turn)


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
