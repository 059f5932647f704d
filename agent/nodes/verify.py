"""Run the tests in the sandbox before and after the patch; grade from the parsed results and the
exit code, never from what the model claims. With a reproduction test (the reproduce node), run it
with the patch as well: the regression tests passing and the reproduction passing is the strongest
evidence a run can give. It is recorded, and does not change how the attempt is graded."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from agent import prompting
from agent.deps import Deps
from agent.nodes.sandbox_runs import environment, record, results
from tools.edits.diff import apply_diff, reset_worktree
from tools.errors import PatchApplyError
from tools.issue_sources import text_of
from tools.reproduction import PASSES, classify, command_for
from tools.testlogs import compare


def verify(state: dict, deps: Deps) -> dict:
    root = Path(state["workspace_dir"])
    cfg = deps.settings.run
    reset_worktree(root)
    env = environment(state, deps, root)
    updates: dict = {"env_image": env}

    before = state.get("tests_before")
    if before is None:
        result = deps.sandbox.run(env, root, cfg.test_command)
        before = results(result)
        record(deps, "verify", "before", result, before)
        updates["tests_before"] = before

    apply_diff(root, state["diff"])
    try:
        result = deps.sandbox.run(env, root, cfg.test_command)
    finally:
        reset_worktree(root)
    after = results(result)
    attempt = state["attempt"]
    record(deps, "verify", f"attempt-{attempt}", result, after)
    evidence = asdict(compare(before, after))
    reproduction = _reproduction_after(state, deps, root, env)
    outcome = {"attempt": attempt}
    if reproduction:
        evidence["reproduction_after"] = outcome["reproduction_after"] = reproduction
    passed = result.exit_code == 0 and not result.timed_out
    updates.update(tests_after=after, test_exit_code=result.exit_code, evidence=evidence)
    if passed:
        return {**updates, "attempts": [{**outcome, "outcome": "tests_passed"}], "exit_status": "fixed",
                "reason": _passed_reason(evidence)}

    failing = sorted(t for t, s in after.items() if s in ("failed", "error"))
    feedback = prompting.feedback_on_tests(timed_out=result.timed_out, oom_killed=result.oom_killed,
                                           timeout=deps.settings.sandbox.test_timeout, failing=failing,
                                           output=result.output[-cfg.feedback_chars:])
    why = "timed out" if result.timed_out else "ran out of memory" if result.oom_killed else f"{len(failing)} failing"
    return {**updates, "attempts": [{**outcome, "outcome": "tests_failed", "failing": failing}],
            "exit_status": "tests_failed", "test_feedback": feedback,
            "reason": f"attempt {attempt}: tests {why} (exit code {result.exit_code})"}


def _reproduction_after(state: dict, deps: Deps, root: Path, env: str) -> str:
    """"passed" or "failed": the reproduction test run with the patch applied; "" without one."""
    repro = state.get("reproduction") or {}
    if repro.get("status") != "reproduced":
        return ""
    try:
        apply_diff(root, state["diff"])
        apply_diff(root, repro["diff"])
        result = deps.sandbox.run(env, root, command_for(deps.settings.run.reproduce_command, repro["path"]))
    except PatchApplyError:  # the patch wrote a file at the test's path: the test cannot be added
        return "failed"
    finally:
        reset_worktree(root)
    verdict = classify(repro["path"], text_of(state["issue"]), exit_code=result.exit_code, output=result.output,
                       junit_xml=result.junit_xml, timed_out=result.timed_out)
    record(deps, "verify", f"reproduction-{state['attempt']}", result, verdict.tests)
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
