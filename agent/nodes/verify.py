"""Run the tests in the sandbox before and after the patch; grade from the parsed results and the
exit code, never from what the model claims. With a reproduction test (the reproduce node), run it
with the patch as well: the regression tests passing and the reproduction passing is the strongest
evidence a run can give.

Each distinct candidate of the attempt (run.samples; agent/nodes/candidates.py) is tested this way,
and agent/nodes/selection.py chooses one by those results: it becomes the attempt's diff, graded as
a single patch always was (the test command passing is "fixed"; the reproduction does not change
the grade)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent import prompting
from agent.deps import Deps
from agent.nodes.candidates import record as record_candidates, single
from agent.nodes.sandbox_runs import environment, record, results
from agent.nodes.selection import choose, tier
from tools.edits.diff import apply_diff, files_changed, reset_worktree
from tools.errors import PatchApplyError
from tools.issue_sources import text_of
from tools.reproduction import PASSES, classify, command_for
from tools.testlogs import FAILING, STOPPED_EARLY, compare

if TYPE_CHECKING:
    from sandbox.base import ExecResult


# What an attempt's tests said, kept with its record: what deliver restores when it delivers that attempt.
RESULTS = ("candidates", "selection", "tests_after", "test_exit_code", "evidence")


@dataclass
class _Run:
    """One distinct candidate's test runs."""

    result: ExecResult
    after: dict          # test id -> status with the candidate
    evidence: dict       # tools.testlogs.Evidence against tests_before, as a dict
    reproduction: str    # "passed" | "failed"; "" without a reproduction


def verify(state: dict, deps: Deps) -> dict:
    root = Path(state["workspace_dir"])
    cfg = deps.settings.run
    reset_worktree(root)
    env = environment(state, deps, root)
    updates: dict = {"env_image": env}

    attempt = state["attempt"]
    candidates = state.get("candidates") or [single(state["diff"])]  # a checkpoint from before issue 14
    before = state.get("tests_before")
    if before is None:
        focus = getattr(deps.sandbox, "focus", None)  # a sandbox choosing its regression tests (SpecSandbox)
        if focus is not None:
            focus(root, [f for c in candidates for f in files_changed(c["diff"])])
        result = deps.sandbox.run(env, root, cfg.test_command)
        before = results(result)
        record(deps, "verify", "before", result, before)
        updates["tests_before"] = before

    distinct = [c for c in candidates if c["diff"] and c["same_as"] is None]
    reproduced = (state.get("reproduction") or {}).get("status") == "reproduced"
    # Each in a fresh container (sandbox.run starts one per call), one log per run.
    runs = {c["index"]: _test(state, deps, root, env, before, c, several=len(distinct) > 1) for c in distinct}
    graded = [_graded(c, runs, reproduced) for c in candidates]
    chosen, why = choose(graded, reproduced)
    graded = [{**c, "chosen": c["index"] == chosen} for c in graded]
    record_candidates(deps, "verify", attempt, graded)
    run, diff = runs[chosen], next(c["diff"] for c in graded if c["index"] == chosen)
    selection = {**(state.get("selection") or {}), "chosen": chosen, "why": why}

    evidence = dict(run.evidence)
    best = next(c for c in graded if c["chosen"])
    # The attempt's diff is the chosen candidate's; its tier and results let deliver choose among
    # attempts (selection.best_attempt) and restore what the chosen attempt's tests said.
    outcome = {"attempt": attempt, "diff": diff, "tier": best["tier"], "regressions": best["regressions"]}
    if len(candidates) > 1:
        outcome.update(chosen=chosen, why=why)
    if run.reproduction:
        evidence["reproduction_after"] = outcome["reproduction_after"] = run.reproduction
    updates.update(diff=diff, candidates=graded, selection=selection, tests_after=run.after,
                   test_exit_code=run.result.exit_code, evidence=evidence)
    outcome["results"] = {k: updates[k] for k in RESULTS}

    def said(reason: str) -> str:
        if len(candidates) > 1:
            reason += f" (candidate {chosen} of {len(candidates)}: {why})"
        return f"{selection['stopped']}; {reason}" if selection.get("stopped") else reason

    result = run.result
    if _passed(result):
        return {**updates, "attempts": [{**outcome, "outcome": "tests_passed"}], "exit_status": "fixed",
                "reason": said(_passed_reason(evidence))}

    failing = _failing(run.after)
    # What the patch changed, apart: a test that failed on the base commit too (an environment's
    # failure, or the issue's own test still failing) is not the patch's doing, and a list of 168
    # of those would hide the one regression from the model.
    regressions, still = evidence["pass_to_fail"], evidence["still_failing"]
    already = [t for t in still if before.get(t) in FAILING]
    new = [t for t in still if before.get(t) not in FAILING]
    feedback = prompting.feedback_on_tests(timed_out=result.timed_out, oom_killed=result.oom_killed,
                                           timeout=deps.settings.sandbox.test_timeout, regressions=regressions,
                                           new=new, already=already, output=result.output[-cfg.feedback_chars:])
    why_failed = ("timed out" if result.timed_out else "ran out of memory" if result.oom_killed
                  else f"stopped before running any test ({len(regressions)} passed before the patch)"
                  if not run.after and result.exit_code in STOPPED_EARLY
                  else f"{len(failing)} failing, {len(regressions)} of them passed before the patch")
    return {**updates, "attempts": [{**outcome, "outcome": "tests_failed", "failing": failing}],
            "exit_status": "tests_failed", "test_feedback": feedback,
            "reason": said(f"attempt {attempt}: tests {why_failed} (exit code {result.exit_code})")}


def _test(state: dict, deps: Deps, root: Path, env: str, before: dict, candidate: dict, *, several: bool) -> _Run:
    """The test command, then the reproduction test, with the candidate applied to the base files.
    With several distinct candidates each one's logs carry its index (attempt-1-candidate-2.log)."""
    suffix = f"-candidate-{candidate['index']}" if several else ""
    apply_diff(root, candidate["diff"])
    try:
        result = deps.sandbox.run(env, root, deps.settings.run.test_command)
    finally:
        reset_worktree(root)
    after = results(result)
    record(deps, "verify", f"attempt-{state['attempt']}{suffix}", result, after)
    reproduction = _reproduction_after(state, deps, root, env, candidate["diff"],
                                       f"reproduction-{state['attempt']}{suffix}")
    return _Run(result, after, asdict(compare(before, after, result.exit_code)), reproduction)


def _graded(candidate: dict, runs: dict[int, _Run], reproduced: bool) -> dict:
    """The candidate with its test results (a duplicate shares those of the first that made its
    change; a candidate whose edits never applied has none)."""
    if not candidate["diff"]:
        return {**candidate, "tested": False}
    run = runs[candidate["same_as"] or candidate["index"]]
    graded = {**candidate, "tested": candidate["same_as"] is None, "tests_passed": _passed(run.result),
              "test_exit_code": run.result.exit_code, "timed_out": run.result.timed_out, "tests": len(run.after),
              "failing": _failing(run.after), "regressions": run.evidence["pass_to_fail"],
              "fail_to_pass": run.evidence["fail_to_pass"], "reproduction": run.reproduction or None}
    return {**graded, "tier": tier(graded, reproduced)}


def _passed(result: ExecResult) -> bool:
    return result.exit_code == 0 and not result.timed_out


def _failing(after: dict) -> list[str]:
    return sorted(t for t, s in after.items() if s in ("failed", "error"))


def _reproduction_after(state: dict, deps: Deps, root: Path, env: str, diff: str, phase: str) -> str:
    """"passed" or "failed": the reproduction test run with `diff` applied; "" without one."""
    repro = state.get("reproduction") or {}
    if repro.get("status") != "reproduced":
        return ""
    try:
        apply_diff(root, diff)
        apply_diff(root, repro["diff"])
        result = deps.sandbox.run(env, root, command_for(deps.settings.run.reproduce_command, repro["path"]))
    except PatchApplyError:  # the patch wrote a file at the test's path: the test cannot be added
        return "failed"
    finally:
        reset_worktree(root)
    verdict = classify(repro["path"], text_of(state["issue"]), exit_code=result.exit_code, output=result.output,
                       junit_xml=result.junit_xml, timed_out=result.timed_out)
    record(deps, "verify", phase, result, verdict.tests)
    return "passed" if verdict.kind == PASSES else "failed"


def _passed_reason(evidence: dict) -> str:
    reproduction = evidence.get("reproduction_after")
    if evidence["fail_to_pass"]:
        reason = f"{len(evidence['fail_to_pass'])} test(s) failed before the patch and pass after it"
    elif reproduction == "passed":
        return "all tests pass with the patch, and so does the reproduction test, which failed before it"
    else:
        reason = "all tests pass with the patch, but no test failed before it: the fix is not proven by a test"
    if reproduction == "passed":
        reason += "; so does the reproduction test"
    elif reproduction == "failed":
        reason += "; the reproduction test still fails with the patch"
    return reason
