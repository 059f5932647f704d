"""The fix graph from ingest to deliver without Docker: the demo issue and repository, the real git
workspace, index and localization, a scripted model, and the scripted sandbox answering each test
run with the JUnit XML pytest would write. What Docker adds is covered by test_fix_pipeline.py."""
from __future__ import annotations

import json

import pytest

from agent.config import ConfigError, Settings, load_settings
from agent.demo_run import run_demo
from agent.models import ScriptedModel
from agent.models.replies import cut_reply
from agent.runner import RunError
from pipeline_support import AFTER, BEFORE, BUG_TESTS, DEMO_TESTS, FIX_REPLY, WRONG_REPLY, run_result
from sandbox.base import Sandbox, SandboxError
from sandbox.docker import DockerSandboxConfig
from sandbox.scripted import ENV, ScriptedResult, ScriptedSandbox, ScriptedSandboxConfig

OUTSIDE = DEMO_TESTS[1]  # the test the wrong fix still fails
WRONG_AFTER = run_result([OUTSIDE], f"FAILED {OUTSIDE} - assert 5 == 3\n1 failed, 3 passed")


def test_scripted_sandbox_from_config_fixes_the_demo(tmp_path):
    settings = Settings(home=tmp_path, sandbox=ScriptedSandboxConfig(results=[BEFORE, AFTER]))
    result = run_demo(settings, serve_model=False, model=ScriptedModel([FIX_REPLY]))
    assert result.fixed
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["status"] == "fixed"
    assert report["tests"]["fail_to_pass"] == BUG_TESTS
    assert report["tests"]["pass_to_fail"] == [] and report["tests"]["exit_code_after"] == 0
    assert report["files_changed"] == ["textkit/numbers.py"]
    diff = (result.run_dir / "patch.diff").read_text()
    assert "-    return max(low, min(value, low))" in diff and "+    return max(low, min(value, high))" in diff
    for name in ("report.md", "evidence.json", "tests/before.log", "tests/attempt-1.log"):
        assert (result.run_dir / name).exists(), name


def test_failing_after_goes_back_to_patch_with_the_failure(tmp_path):
    sandbox = ScriptedSandbox([BEFORE.result(), WRONG_AFTER.result(), AFTER.result()])
    model = ScriptedModel([WRONG_REPLY, FIX_REPLY])
    result = run_demo(Settings(home=tmp_path), serve_model=False, model=model, sandbox=sandbox)
    assert result.fixed
    report = json.loads((result.run_dir / "report.json").read_text())
    assert [a["outcome"] for a in report["attempts"]] == ["tests_failed", "tests_passed"]
    assert report["tests"]["fail_to_pass"] == BUG_TESTS
    assert "min(value, high)" in (result.run_dir / "patch.diff").read_text()
    second = model.requests[1][-1]["content"]
    assert "min(value, max(low, value))" in second  # the previous diff is shown
    assert OUTSIDE.split("::")[1] in second and "assert 5 == 3" in second  # with the failing test and its output
    runs = [c for c in sandbox.calls if c["call"] == "run"]
    assert len(runs) == 3 and sandbox.remaining == 0
    assert {c["env"] for c in runs} == {ENV} and {c["command"] for c in runs} == {Settings(home=tmp_path).run.test_command}


def test_test_feedback_tells_a_regression_apart_from_tests_that_failed_before_the_patch(tmp_path):
    # The wrong patch breaks test_parse_int_list, which passed, and the two bug tests still fail:
    # the model is told which failure is its own doing, not handed one list of three.
    broken = DEMO_TESTS[0]
    regressed = run_result([broken, *BUG_TESTS], f"FAILED {broken} - TypeError\n3 failed, 1 passed")
    sandbox = ScriptedSandbox([BEFORE.result(), regressed.result(), AFTER.result()])
    model = ScriptedModel([WRONG_REPLY, FIX_REPLY])
    result = run_demo(Settings(home=tmp_path), serve_model=False, model=model, sandbox=sandbox)
    assert result.fixed
    second = model.requests[1][-1]["content"]
    assert f"Tests that passed before the patch and fail with it: {broken}\n" in second
    assert f"Tests that failed before the patch and still fail with it: {', '.join(BUG_TESTS)}\n" in second
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["attempts"][0]["failing"] == sorted([broken, *BUG_TESTS])


def test_a_script_too_short_stops_the_run_as_a_sandbox_failure(tmp_path):
    with pytest.raises(RunError, match="scripted sandbox ran out of results after 1") as stopped:
        run_demo(Settings(home=tmp_path, sandbox=ScriptedSandboxConfig(results=[BEFORE])), serve_model=False,
                 model=ScriptedModel([FIX_REPLY]))
    assert isinstance(stopped.value.__cause__, SandboxError)  # not a failing test: no evidence about the patch


def test_the_sandbox_table_selects_the_backend_and_defaults_to_docker(tmp_path, monkeypatch):
    toml = tmp_path / "patchwright.toml"
    monkeypatch.setenv("PATCHWRIGHT_CONFIG", str(toml))  # load_settings sets it; undone after the test
    toml.write_text('[sandbox]\ntype = "scripted"\n[[sandbox.results]]\nexit_code = 1\noutput = "1 failed"\n')
    scripted = load_settings(toml).sandbox
    assert isinstance(scripted, ScriptedSandboxConfig) and scripted.results[0].exit_code == 1
    assert isinstance(scripted.build(run_id="r1"), Sandbox)
    toml.write_text("[sandbox]\ncpus = 2\n")  # a partial table means Docker, as before
    assert isinstance(load_settings(toml).sandbox, DockerSandboxConfig)
    toml.write_text('[sandbox]\ntype = "scripted"\ncpus = 2\n')  # Docker's settings are not the script's
    with pytest.raises(ConfigError, match="cpus"):
        load_settings(toml)


def test_time_budget_stops_before_another_attempt_and_says_so(tmp_path):
    # The first attempt's tests fail; with run.budget_seconds spent, no second attempt is asked for.
    sandbox = ScriptedSandbox([BEFORE.result(), WRONG_AFTER.result(), AFTER.result()])
    model = ScriptedModel([WRONG_REPLY, FIX_REPLY])
    settings = Settings(home=tmp_path, run={"max_attempts": 3, "budget_seconds": 0})
    result = run_demo(settings, serve_model=False, model=model, sandbox=sandbox)
    assert not result.fixed
    report = json.loads((result.run_dir / "report.json").read_text())
    assert "time budget reached" in report["reason"] and "run.budget_seconds = 0" in report["reason"]
    assert len(model.requests) == 1  # the second reply was never asked for


def test_an_edit_retry_after_a_long_reply_still_fits_the_window(tmp_path):
    # A first reply as long as the reply budget allows, that does not apply: its retry carries it
    # back, cut so that prompt + reply room stay inside the 8K window (the server refused 9,312
    # tokens on pallets__flask-5014 before).
    long_wrong = "I will change it.\n" + ("x = 1  # padding of a rambling answer\n" * 400) + WRONG_REPLY.replace(
        "min(value, low)", "min(value, nowhere)")
    sandbox = ScriptedSandbox([BEFORE.result(), AFTER.result()])
    model = ScriptedModel([long_wrong, FIX_REPLY], context_window=4096)
    settings = Settings(home=tmp_path, run={"max_attempts": 1, "max_edit_retries": 1})
    result = run_demo(settings, serve_model=False, model=model, sandbox=sandbox)
    assert result.fixed
    first, retry = model.requests
    room = 4096 - settings.model.max_tokens
    assert sum(model.count_tokens(m["content"]) for m in first) + model.count_tokens(long_wrong) > room  # uncut: too long
    assert sum(model.count_tokens(m["content"]) for m in retry) <= room
    assert "could not be applied" in retry[-1]["content"] and retry[:len(first)] == first
    assert "cut off" not in retry[-1]["content"]  # the server ended that reply itself
    # The first ask is at the model's own temperature; the retry samples, so that it is not the
    # refused answer again word for word.
    assert [o["temperature"] for o in model.options] == [None, settings.run.sample_temperature]


def test_a_reply_cut_at_max_tokens_is_sent_back_saying_so_before_what_broke(tmp_path):
    # The server stopped the first reply mid-block (finish_reason "length"): the retry says that the
    # reply was cut at the reply limit and asks for a shorter one, then names the broken block.
    cut = cut_reply(FIX_REPLY.split("=======")[0])
    sandbox = ScriptedSandbox([BEFORE.result(), AFTER.result()])
    model = ScriptedModel([cut, FIX_REPLY])
    settings = Settings(home=tmp_path, run={"max_attempts": 1, "max_edit_retries": 1})
    result = run_demo(settings, serve_model=False, model=model, sandbox=sandbox)
    assert result.fixed
    feedback = model.requests[1][-1]["content"]
    said = feedback.index(f"cut off at the limit of {settings.model.max_tokens} tokens")
    assert said < feedback.index("missing its =======") and "Keep each SEARCH short" in feedback
    steps = [json.loads(line) for line in (result.run_dir / "trajectory.jsonl").read_text().splitlines()]
    assert [s.get("cut") for s in steps if s.get("type") == "model"] == [[True], None]


def test_an_edit_that_breaks_the_syntax_goes_back_to_the_model_before_any_test_runs(tmp_path):
    # Seen on requests-5414: the edit indented a line into the block above it, and the test run
    # then said only "0 failing (exit code 4)". Now the model hears the file and line, and the
    # sandbox runs only the base tests and the mended patch.
    broken = FIX_REPLY.replace("    return max(low, min(value, high))", "      return max(low, min(value, high))")
    sandbox = ScriptedSandbox([BEFORE.result(), AFTER.result()])
    model = ScriptedModel([broken, FIX_REPLY])
    result = run_demo(Settings(home=tmp_path, run={"max_attempts": 1, "max_edit_retries": 1}), serve_model=False,
                      model=model, sandbox=sandbox)
    assert result.fixed and sandbox.remaining == 0
    feedback = model.requests[1][-1]["content"]
    assert "The edits would leave textkit/numbers.py unparseable:" in feedback
    assert "textkit/numbers.py line " in feedback and "unexpected indent" in feedback


NOT_THERE_REPLY = """textkit/numbers.py
<<<<<<< SEARCH
    return this_line_is_not_in_the_file
=======
    return None
>>>>>>> REPLACE
"""


def test_a_later_attempt_whose_edits_never_applied_does_not_throw_away_the_tested_patch(tmp_path):
    # Attempt 1's patch leaves one bug test failing but breaks nothing; attempt 2's edits never apply.
    # The run is not fixed, and it delivers attempt 1's patch with attempt 1's test evidence, saying so.
    sandbox = ScriptedSandbox([BEFORE.result(), WRONG_AFTER.result()])
    model = ScriptedModel([WRONG_REPLY, NOT_THERE_REPLY])
    settings = Settings(home=tmp_path, run={"max_attempts": 2, "max_edit_retries": 0})
    result = run_demo(settings, serve_model=False, model=model, sandbox=sandbox)
    assert not result.fixed
    assert "min(value, max(low, value))" in (result.run_dir / "patch.diff").read_text()
    report = json.loads((result.run_dir / "report.json").read_text())
    assert [a["outcome"] for a in report["attempts"]] == ["tests_failed", "patch_failed"]
    assert "delivered attempt 1's patch" in report["reason"] and "its edits never applied" in report["reason"]
    assert report["files_changed"] == ["textkit/numbers.py"] and report["tests"]["exit_code_after"] == 1
    evidence = json.loads((result.run_dir / "evidence.json").read_text())
    assert evidence["still_failing"] == [OUTSIDE] and evidence["pass_to_fail"] == []


def test_a_patch_after_which_no_test_runs_breaks_every_test_that_passed_and_loses_to_one_that_ran(tmp_path):
    # Seen on requests-5414: conftest.py could not import the patched package and pytest ran nothing
    # (exit code 4), which read as "0 failing" with no regression, the tier of a harmless patch.
    stopped = ScriptedResult(exit_code=4, output="ImportError while loading conftest '/testbed/tests/conftest.py'.")
    sandbox = ScriptedSandbox([BEFORE.result(), WRONG_AFTER.result(), stopped.result()])
    model = ScriptedModel([WRONG_REPLY, FIX_REPLY.replace("high))", "high)) + undefined_name")])
    result = run_demo(Settings(home=tmp_path, run={"max_attempts": 2}), serve_model=False, model=model, sandbox=sandbox)
    report = json.loads((result.run_dir / "report.json").read_text())
    second = report["attempts"][1]
    assert second["outcome"] == "tests_failed" and second["tier"] == 3 and len(second["regressions"]) == 2
    assert "attempt 2: tests stopped before running any test (2 passed before the patch) (exit code 4)" in report["reason"]
    assert "min(value, max(low, value))" in (result.run_dir / "patch.diff").read_text()  # attempt 1's, which ran


def test_a_later_attempt_that_breaks_a_passing_test_loses_to_an_earlier_one_that_did_not(tmp_path):
    broken = DEMO_TESTS[0]
    regressed = run_result([broken, *BUG_TESTS], f"FAILED {broken} - TypeError\n3 failed, 1 passed")
    sandbox = ScriptedSandbox([BEFORE.result(), WRONG_AFTER.result(), regressed.result()])
    second = FIX_REPLY.replace("min(value, high)", "min(value, hi)")  # applies, and breaks a test
    model = ScriptedModel([WRONG_REPLY, second])
    result = run_demo(Settings(home=tmp_path, run={"max_attempts": 2}), serve_model=False, model=model,
                      sandbox=sandbox)
    assert not result.fixed
    assert "min(value, max(low, value))" in (result.run_dir / "patch.diff").read_text()
    report = json.loads((result.run_dir / "report.json").read_text())
    assert [a["tier"] for a in report["attempts"]] == [2, 3]  # no regression, then a regression
    assert "delivered attempt 1's patch" in report["reason"] and "1 regression(s)" in report["reason"]
    assert report["tests"]["pass_to_fail"] == []


def test_line_numbers_off_shows_plain_code_and_the_instructions_say_nothing_of_numbers(tmp_path):
    sandbox = ScriptedSandbox([BEFORE.result(), AFTER.result()])
    model = ScriptedModel([FIX_REPLY])
    result = run_demo(Settings(home=tmp_path, run={"line_numbers": False}), serve_model=False, model=model,
                      sandbox=sandbox)
    assert result.fixed
    system, example, _, ask = model.requests[0]
    assert "line numbers" not in system["content"]
    assert "lines 1-3:\n```\ndef greet(name):\n" in example["content"]  # the worked example looks like the real listing
    assert "    return max(low, min(value, low))" in ask["content"] and " | " not in ask["content"]
