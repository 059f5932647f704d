"""Before patching, have the model write a new test that reproduces the issue, and keep it only if
it fails on the base commit the way the bug makes it fail (tools/reproduction/verdict.py). A test
that does not goes back to the model with its output, run.reproduce_retries times; a run without
a reproduction still goes on to patch.

The test lives in the state, never in the working copy after this node, so patch and its diffs do
not see it; verify runs it again with the patch applied.
"""
from __future__ import annotations

from pathlib import Path

from agent import prompting
from agent.deps import Deps
from agent.nodes.candidates import retry_temperature
from agent.nodes.sandbox_runs import environment, record
from tools.edits.diff import reset_worktree
from tools.issue_sources import text_of
from tools.reproduction import (REPRODUCED, ReproductionReplyError, ReproductionTest, Verdict, check_new_test_path,
                                classify, command_for, example_head, nearby_tests, parse_test_reply, write_test)


def reproduce(state: dict, deps: Deps) -> dict:
    if not deps.settings.reproduce_enabled():
        return {}
    root = Path(state["workspace_dir"])
    repo_index = deps.index_for(state["workspace_dir"])
    files = repo_index.files()
    located = [path for path, _ in (state.get("locations") or {}).get("files", [])]
    layout = nearby_tests(files, located)
    # The start of the nearest test shows how tests import the code, unless code_shown has it already.
    example = example_head(repo_index.read(layout.tests[0])) if layout.tests and layout.tests[0] not in located else ""
    asked = prompting.reproduce_messages(prompting.issue_text(deps, state["issue"]), state.get("code_shown", ""),
                                         layout.tests, example, layout.new_path)
    messages, env, spent = asked, state.get("env_image"), ""
    tried = {"status": "not_reproduced", "path": None, "code": "", "output": "", "turns": 0, "reason": ""}
    reset_worktree(root)  # a run killed in here resumes with its test still in the working copy
    for turn in range(1, deps.settings.run.reproduce_retries + 2):
        if spent := deps.over_budget():  # optional work: not even the first ask past the budget
            tried["reason"] = spent
            break
        again = {"temperature": retry_temperature(deps.settings)} if turn > 1 else {}
        answer = deps.ask("reproduce", prompting.fit_to_window(deps, messages, len(asked)), **again)
        reply = answer.content
        tried["turns"] = turn
        try:
            test = _test_in(root, reply, files)
            env = env or environment(state, deps, root)
            verdict, diff = _run(deps, root, env, test, text_of(state["issue"]), turn)
        except ReproductionReplyError as e:
            # A reply stopped at max_tokens is refused for the cut: the model is told that first.
            reason = f"{prompting.reply_cut(deps, 'test')}\n\n{e}" if answer.cut[0] else str(e)
            tried.update(path=None, code="", output="", reason=reason, kind="refused")
            messages = asked + prompting.feedback_on_reproduction(reply, kind="refused", reason=reason)
            continue
        tried.update(path=test.path, code=test.code, output=verdict.output, reason=verdict.reason, kind=verdict.kind)
        if verdict.kind == REPRODUCED:
            return {"env_image": env, "reproduction": {**tried, "status": "reproduced", "diff": diff}}
        # Only the last exchange goes back: each holds a whole test and its output, and the prompt
        # must stay inside the window the patch prompt was budgeted for.
        messages = asked + prompting.feedback_on_reproduction(reply, kind=verdict.kind, reason=verdict.reason,
                                                              path=test.path, output=verdict.output)
    if tried["turns"] and not spent:
        tried["reason"] = f"no test reproduced the issue in {tried['turns']} turn(s); last: {tried['reason']}"
    return {**({"env_image": env} if env else {}), "reproduction": tried}


def _test_in(root: Path, reply: str, files: list[str]) -> ReproductionTest:
    """The reply's test at its checked path (ReproductionReplyError when the reply cannot be used)."""
    test = parse_test_reply(reply)
    return ReproductionTest(check_new_test_path(root, test.path, files), test.code)


def _run(deps: Deps, root: Path, env: str, test: ReproductionTest, issue_text: str, turn: int) -> tuple[Verdict, str]:
    """Run the test on the base commit; its verdict, and the diff that adds the test file."""
    cfg = deps.settings.run
    try:
        diff = write_test(root, test)
        result = deps.sandbox.run(env, root, command_for(cfg.reproduce_command, test.path))
    finally:
        reset_worktree(root)
    verdict = classify(test.path, issue_text, exit_code=result.exit_code, output=result.output,
                       junit_xml=result.junit_xml, timed_out=result.timed_out, limit=cfg.feedback_chars // 2)
    record(deps, "reproduce", f"reproduce-{turn}", result, verdict.tests)
    return verdict, diff
