"""Run the tests in the sandbox before and after the patch; grade from the parsed results and the
exit code, never from what the model claims."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from agent import prompting
from agent.deps import Deps
from tools.edits.diff import apply_diff, reset_worktree
from tools.testenv import detect_install
from tools.testlogs import compare, parse_junit, parse_pytest_output


def verify(state: dict, deps: Deps) -> dict:
    root = Path(state["workspace_dir"])
    cfg = deps.settings.run
    reset_worktree(root)
    env = state.get("env_image") or deps.sandbox.prepare(root, cfg.install or detect_install(root))
    updates: dict = {"env_image": env}

    before = state.get("tests_before")
    if before is None:
        result = deps.sandbox.run(env, root, cfg.test_command)
        before = _results(result)
        _record(deps, "before", result, before)
        updates["tests_before"] = before

    apply_diff(root, state["diff"])
    try:
        result = deps.sandbox.run(env, root, cfg.test_command)
    finally:
        reset_worktree(root)
    after = _results(result)
    attempt = state["attempt"]
    _record(deps, f"attempt-{attempt}", result, after)
    evidence = compare(before, after)
    passed = result.exit_code == 0 and not result.timed_out
    updates.update(tests_after=after, test_exit_code=result.exit_code, evidence=asdict(evidence))
    if passed:
        return {**updates, "attempts": [{"attempt": attempt, "outcome": "tests_passed"}], "exit_status": "fixed",
                "reason": _passed_reason(evidence)}

    failing = sorted(t for t, s in after.items() if s in ("failed", "error"))
    feedback = prompting.feedback_on_tests(timed_out=result.timed_out, oom_killed=result.oom_killed,
                                           timeout=deps.settings.sandbox.test_timeout, failing=failing,
                                           output=result.output[-cfg.feedback_chars:])
    why = "timed out" if result.timed_out else "ran out of memory" if result.oom_killed else f"{len(failing)} failing"
    return {**updates, "attempts": [{"attempt": attempt, "outcome": "tests_failed", "failing": failing}],
            "exit_status": "tests_failed", "test_feedback": feedback,
            "reason": f"attempt {attempt}: tests {why} (exit code {result.exit_code})"}


def _results(result) -> dict:
    if result.junit_xml:
        parsed = parse_junit(result.junit_xml)
        if parsed:
            return parsed
    return parse_pytest_output(result.output)


def _record(deps: Deps, phase: str, result, tests: dict) -> None:
    log_dir = deps.run_dir / "tests"
    log_dir.mkdir(exist_ok=True)
    (log_dir / f"{phase}.log").write_text(result.output, encoding="utf-8")
    deps.trajectory.add("tests", node="verify", phase=phase, exit_code=result.exit_code, timed_out=result.timed_out,
                        oom_killed=result.oom_killed, seconds=round(result.duration, 3), results=tests,
                        truncated=[f"{phase}: {note}" for note in result.truncated])


def _passed_reason(evidence) -> str:
    if evidence.fail_to_pass:
        return f"{len(evidence.fail_to_pass)} test(s) failed before the patch and pass after it"
    return "all tests pass with the patch, but no test failed before it: the fix is not proven by a test"
