"""The reproduce node (a test that fails on the base commit the way the issue says, before any
patch) and its tools: the reply format and path rules, and the verdict on a run.

The pytest runs in fixtures/reproduction/ are real: pytest 9 with -rA and --junitxml on the demo
repository, one new test file each (paths shortened to /repo, /usr/local), and fixed.* the
assertion test again after the fix."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent.config import Settings
from agent.demo_run import run_demo
from agent.models import ScriptedModel
from agent.models.replies import cut_reply
from agent.models.scripted import ScriptedModelConfig
from pipeline_support import FIX_REPLY
from sandbox.scripted import ScriptedResult, ScriptedSandbox
from tools.errors import SecurityError
from tools.reproduction import (BROKEN, OTHER_FAILURE, PASSES, REPRODUCED, ReproductionReplyError, ReproductionTest,
                                check_new_test_path, classify, command_for, parse_test_reply, write_test)

RUNS = Path(__file__).parent / "fixtures" / "reproduction"
EXIT_CODES = {"assertion": 1, "import_error": 2, "passes": 0, "syntax_error": 2, "no_tests": 5, "value_error": 1,
              "fixed": 0}
TEST_PATH = "tests/test_clamp_issue.py"
DEMO_ISSUE = (Path(__file__).parents[1] / "agent" / "demo" / "issue.md").read_text()

ASSERTING = ("from textkit.numbers import clamp\n\n\n"
             "def test_clamp_keeps_a_value_inside_the_range():\n    assert clamp(5, 0, 10) == 5\n")
IMPORTING = ASSERTING.replace("import clamp", "import clamp_value").replace("clamp(5", "clamp_value(5")
PASSING = "from textkit.numbers import clamp\n\n\ndef test_clamp_below_the_range():\n    assert clamp(-1, 0, 10) == 0\n"


def reply(code: str, path: str = TEST_PATH) -> str:
    return f"This calls clamp the way the issue does.\n\nTEST {path}\n```python\n{code}```\n"


def pytest_run(name: str) -> ScriptedResult:
    return ScriptedResult(exit_code=EXIT_CODES[name], output=(RUNS / f"{name}.out").read_text(),
                          junit_xml=(RUNS / f"{name}.xml").read_text())


def regression_run(failing: list[str]) -> ScriptedResult:
    """The demo's own tests (verify's test_command), where `failing` fail."""
    tests = ["test_parse_int_list", "test_clamp_limits_values_outside_the_range", "test_clamp_keeps_values_inside_the_range"]
    failure = '<failure message="assert">AssertionError</failure>'
    cases = "".join(f'<testcase classname="tests.test_numbers" name="{t}">{failure if t in failing else ""}</testcase>'
                    for t in tests)
    return ScriptedResult(exit_code=1 if failing else 0, output=f"{len(failing)} failed",
                          junit_xml=f"<testsuites><testsuite>{cases}</testsuite></testsuites>")


BEFORE = regression_run(["test_clamp_limits_values_outside_the_range", "test_clamp_keeps_values_inside_the_range"])
AFTER = regression_run([])


class WorkingCopySandbox(ScriptedSandbox):
    """The scripted sandbox, also noting what each run saw in the working copy: the reproduction
    test (None when absent) and whether clamp was fixed."""

    def __init__(self, results: list[ScriptedResult]):
        super().__init__([r.result() for r in results])
        self.seen: list[dict] = []

    def run(self, env, repo_dir, command, **kw):
        test = Path(repo_dir) / TEST_PATH
        self.seen.append({"command": command, "test": test.read_text() if test.exists() else None,
                          "fixed": "min(value, high)" in (Path(repo_dir) / "textkit/numbers.py").read_text()})
        return super().run(env, repo_dir, command, **kw)


def fix(tmp_path: Path, replies: list[str], results: list[ScriptedResult], **run):
    model, sandbox = ScriptedModel(replies), WorkingCopySandbox(results)
    result = run_demo(Settings(home=tmp_path, run={"reproduce": True, **run}), serve_model=False, model=model,
                      sandbox=sandbox)
    assert sandbox.remaining == 0 and model.remaining == 0
    status = subprocess.run(["git", "status", "--porcelain"], cwd=result.state["workspace_dir"],
                            capture_output=True, text=True, check=True).stdout
    assert status == ""  # the reproduction test never stays in the working copy
    return result, model, sandbox, json.loads((result.run_dir / "report.json").read_text())


# (a) --------------------------------------------------------------------------------------------

def test_a_reproduction_failing_before_and_passing_after_is_delivered_with_the_fix(tmp_path):
    result, model, sandbox, report = fix(tmp_path, [reply(ASSERTING), FIX_REPLY],
                                         [pytest_run("assertion"), BEFORE, AFTER, pytest_run("fixed")])
    assert result.fixed
    repro = report["reproduction"]
    assert repro["status"] == "reproduced" and repro["path"] == TEST_PATH and repro["turns"] == 1
    assert "fails with an assertion" in repro["reason"] and "assert 0 == 5" in repro["output"]
    assert repro["after_fix"] == "passed" and repro["in_patch"]
    command = Settings(home=tmp_path).run.reproduce_command.replace("{test}", TEST_PATH)
    regression = Settings(home=tmp_path).run.test_command
    assert [s["command"] for s in sandbox.seen] == [command, regression, regression, command]
    # On the base commit, then with the fix; the regression runs see neither the test nor, before, the fix.
    assert [(s["test"] == ASSERTING, s["fixed"]) for s in sandbox.seen] == [(True, False), (False, False),
                                                                           (False, True), (True, True)]
    assert len([c for c in sandbox.calls if c["call"] == "prepare"]) == 1  # verify reused reproduce's env_image
    assert TEST_PATH not in result.state["diff"]  # the attempt's diff is the fix alone...
    delivered = (result.run_dir / "patch.diff").read_text()
    assert f"+++ b/{TEST_PATH}" in delivered and "+    return max(low, min(value, high))" in delivered  # ...with the test
    assert report["files_changed"] == ["textkit/numbers.py", TEST_PATH]
    assert report["attempts"][-1]["reproduction_after"] == "passed"
    assert json.loads((result.run_dir / "evidence.json").read_text())["reproduction_after"] == "passed"
    assert "so does the reproduction test" in report["reason"]
    md = (result.run_dir / "report.md").read_text()
    assert "## Reproduction" in md and "reproduced by `tests/test_clamp_issue.py`" in md and "with the fix: passes" in md
    assert {"reproduce-1.log", "reproduction-1.log"} <= {p.name for p in (result.run_dir / "tests").iterdir()}
    asked = model.requests[0][-1]["content"]
    assert asked.index("- tests/test_numbers.py") < asked.index("- tests/test_words.py")  # nearest the issue first
    assert "TEST tests/test_numbers_issue.py" in asked  # a free path beside them as the example


def test_the_test_is_left_out_of_the_patch_when_configured(tmp_path):
    result, _, _, report = fix(tmp_path, [reply(ASSERTING), FIX_REPLY],
                               [pytest_run("assertion"), BEFORE, AFTER, pytest_run("fixed")], reproduction_in_pr=False)
    assert report["reproduction"]["after_fix"] == "passed" and not report["reproduction"]["in_patch"]
    assert TEST_PATH not in (result.run_dir / "patch.diff").read_text()


def test_a_reproduction_still_failing_with_the_patch_is_not_delivered(tmp_path):
    result, _, _, report = fix(tmp_path, [reply(ASSERTING), FIX_REPLY],
                               [pytest_run("assertion"), BEFORE, AFTER, pytest_run("assertion")])
    assert result.fixed  # graded by the regression tests, as before
    assert report["reproduction"]["after_fix"] == "failed" and "still fails" in report["reason"]
    assert TEST_PATH not in (result.run_dir / "patch.diff").read_text()


# (b) --------------------------------------------------------------------------------------------

def test_a_test_breaking_on_its_own_import_goes_back_with_the_error(tmp_path):
    _, model, sandbox, report = fix(tmp_path, [reply(IMPORTING), reply(ASSERTING), FIX_REPLY],
                                    [pytest_run("import_error"), pytest_run("assertion"), BEFORE, AFTER, pytest_run("fixed")])
    second = model.requests[1]
    assert [m["role"] for m in second] == ["user", "assistant", "user"] and second[1]["content"] == reply(IMPORTING)
    assert "could not be collected: ImportError" in second[-1]["content"]
    assert "ImportError: cannot import name 'clamp_value' from 'textkit.numbers'" in second[-1]["content"]
    repro = report["reproduction"]
    assert repro["status"] == "reproduced" and repro["turns"] == 2 and sandbox.seen[1]["test"] == ASSERTING
    assert [o["temperature"] for o in model.options[:2]] == [None, 0.8]  # the retry samples


def test_a_test_reply_cut_at_max_tokens_goes_back_saying_so(tmp_path):
    # The server stopped the reply inside the test's code block: the retry asks for a shorter test.
    cut = cut_reply(reply(ASSERTING).rsplit("```", 1)[0])
    _, model, _, report = fix(tmp_path, [cut, reply(ASSERTING), FIX_REPLY],
                              [pytest_run("assertion"), BEFORE, AFTER, pytest_run("fixed")])
    feedback = model.requests[1][-1]["content"]
    limit = Settings(home=tmp_path).model.max_tokens
    assert f"Your reply was cut off at the limit of {limit} tokens" in feedback and "Write a shorter test" in feedback
    assert report["reproduction"]["status"] == "reproduced" and report["reproduction"]["turns"] == 2


# (c) --------------------------------------------------------------------------------------------

def test_a_test_passing_on_the_base_is_not_a_reproduction_and_the_run_goes_on(tmp_path):
    result, model, sandbox, report = fix(tmp_path, [reply(PASSING)] * 3 + [FIX_REPLY],
                                         [pytest_run("passes")] * 3 + [BEFORE, AFTER])
    assert result.fixed and len(sandbox.seen) == 5  # three tries (run.reproduce_retries = 2), no run after the fix
    assert "passed on the current, unfixed code" in model.requests[1][-1]["content"]
    repro = report["reproduction"]
    assert repro["status"] == "not_reproduced" and repro["turns"] == 3 and repro["after_fix"] is None
    assert "no test reproduced the issue in 3 turn(s)" in repro["reason"] and "passed on the unfixed code" in repro["reason"]
    assert TEST_PATH not in (result.run_dir / "patch.diff").read_text()
    assert "- not reproduced (3 turn(s))" in (result.run_dir / "report.md").read_text()
    assert "<<<<<<< SEARCH" in model.requests[3][-1]["content"] and "TEST " not in model.requests[3][-1]["content"]


def test_the_time_budget_stops_reproducing_but_not_patching(tmp_path):
    result, model, _, report = fix(tmp_path, [FIX_REPLY], [BEFORE, AFTER], budget_seconds=0)
    assert report["reproduction"]["turns"] == 0 and "time budget reached" in report["reproduction"]["reason"]
    assert len(model.requests) == 1  # only patch asked


def test_off_by_default_for_the_embedded_profile_and_a_scripted_model(tmp_path):
    assert not Settings(home=tmp_path).reproduce_enabled()  # the default profile is the CPU one
    assert Settings(home=tmp_path, model={"profile": "qwen2.5-coder-32b-instruct"}).reproduce_enabled()
    gpu = {"profile": "qwen2.5-coder-32b-instruct"}
    assert not Settings(home=tmp_path, model=gpu, run={"reproduce": False}).reproduce_enabled()
    assert Settings(home=tmp_path, run={"reproduce": True}).reproduce_enabled()
    assert not Settings(home=tmp_path, model=ScriptedModelConfig(replies_file=tmp_path / "r.json")).reproduce_enabled()
    with pytest.raises(ValueError, match=r"must contain \{test\}"):
        Settings(home=tmp_path, run={"reproduce_command": "pytest -rA"})


# (d) --------------------------------------------------------------------------------------------

def test_a_path_outside_the_repository_or_of_an_existing_file_is_refused(tmp_path):
    replies = [reply(ASSERTING, "../outside/test_clamp_issue.py"), reply(ASSERTING, "tests/test_numbers.py"),
               reply(ASSERTING), FIX_REPLY]
    result, model, sandbox, report = fix(tmp_path, replies, [pytest_run("assertion"), BEFORE, AFTER, pytest_run("fixed")])
    assert "outside the repository" in model.requests[1][-1]["content"]
    assert "tests/test_numbers.py already exists" in model.requests[2][-1]["content"]
    assert not (result.run_dir / "outside").exists()  # nothing was written for the refused replies
    assert report["reproduction"]["turns"] == 3 and sandbox.seen[0]["test"] == ASSERTING


def git_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"],
                   check=True)
    return root


@pytest.mark.parametrize("path,why", [
    ("/tmp/test_x.py", "outside the repository"), ("tests/../../test_x.py", "outside the repository"),
    (".git/hooks/test_x.py", "inside .git"), (".github/test_x.py", "hidden directory"),
    ("tests/helpers.py", "not a test module name"), ("tests/test x.py", "characters"),
    ("tests/test_numbers.py", "already exists"), ("other/test_numbers.py", "already exists (tests/test_numbers.py)"),
    ("README.md/test_x.py", "is a file, not a directory"),
])
def test_path_rules(tmp_path, path, why):
    root = git_repo(tmp_path / "repo", {"tests/test_numbers.py": "", "README.md": ""})
    with pytest.raises(ReproductionReplyError, match=why.replace("(", r"\(").replace(")", r"\)")):
        check_new_test_path(root, path, ["tests/test_numbers.py", "README.md"])


def test_a_symlink_out_of_the_working_copy_stops_the_run_and_an_ignored_path_is_refused(tmp_path):
    root = git_repo(tmp_path / "repo", {".gitignore": "build/\n", "tests/test_a.py": ""})
    (tmp_path / "elsewhere").mkdir()
    (root / "linked").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(SecurityError):
        check_new_test_path(root, "linked/test_x.py", [])
    assert check_new_test_path(root, "./tests/test_x.py", []) == "tests/test_x.py"
    with pytest.raises(ReproductionReplyError, match="git ignores build/test_x.py"):
        write_test(root, ReproductionTest("build/test_x.py", ASSERTING))
    assert not (root / "build" / "test_x.py").exists()
    assert f"+++ b/tests/test_x.py" in write_test(root, ReproductionTest("tests/test_x.py", ASSERTING))


def test_the_reply_format():
    assert parse_test_reply(reply(ASSERTING)) == ReproductionTest(TEST_PATH, ASSERTING)
    assert parse_test_reply(f"**TEST** `{TEST_PATH}`\n\n```\n{ASSERTING}```").code == ASSERTING
    for text, why in [(f"```python\n{ASSERTING}```", "no `TEST"), (f"TEST {TEST_PATH}\n{ASSERTING}", "fenced block"),
                      (reply(ASSERTING) + reply(PASSING, "tests/test_other.py"), "names 2 test files"),
                      (reply("def test_a(:\n    pass\n"), "SyntaxError at line 1"),
                      (reply("def check():\n    assert True\n"), "defines no test"),
                      (reply("x = 1\n" * 5000 + "def test_a():\n    pass\n"), "characters")]:
        with pytest.raises(ReproductionReplyError, match=why):
            parse_test_reply(text)
    assert command_for("pytest {test} -q", "tests/it's.py") == "pytest 'tests/it'\"'\"'s.py' -q"


# (e) --------------------------------------------------------------------------------------------

NAMING_VALUE_ERROR = "parse_int_list('1, two') raises ValueError instead of skipping the word"
NAME_ERROR_OUT = """collected 1 item

tests/test_clamp_issue.py F                                              [100%]

=================================== FAILURES ===================================
__________________________________ test_clamp __________________________________

    def test_clamp():
>       assert clmap(5, 0, 10) == 5
               ^^^^^
E       NameError: name 'clmap' is not defined

tests/test_clamp_issue.py:2: NameError
=========================== short test summary info ============================
FAILED tests/test_clamp_issue.py::test_clamp - NameError: name 'clmap' is not defined
============================== 1 failed in 0.73s ===============================
"""
FIXTURE_OUT = """collected 1 item

tests/test_clamp_issue.py E                                              [100%]

==================================== ERRORS ====================================
_________________________ ERROR at setup of test_clamp _________________________
file /repo/tests/test_clamp_issue.py, line 1
  def test_clamp(numbers):
E       fixture 'numbers' not found
>       available fixtures: capfd, capsys, monkeypatch, tmp_path
>       use 'pytest --fixtures [testpath]' for help on them.

/repo/tests/test_clamp_issue.py:1
=========================== short test summary info ============================
ERROR tests/test_clamp_issue.py::test_clamp
=============================== 1 error in 0.76s ===============================
"""


@pytest.mark.parametrize("junit", [True, False], ids=["junit", "output only"])
@pytest.mark.parametrize("name,issue,kind,why", [
    ("assertion", DEMO_ISSUE, REPRODUCED, "test_clamp_keeps_a_value_inside_the_range fails with an assertion"),
    ("value_error", NAMING_VALUE_ERROR, REPRODUCED, "fails with ValueError, which the issue names"),
    ("value_error", DEMO_ISSUE, OTHER_FAILURE, "fails with an exception the issue does not name: ValueError"),
    ("import_error", DEMO_ISSUE, BROKEN, "tests/test_clamp_issue.py could not be collected: ImportError"),
    ("syntax_error", DEMO_ISSUE, BROKEN, "could not be collected: SyntaxError"),
    ("passes", DEMO_ISSUE, PASSES, "test_clamp_below_the_range passed on the unfixed code"),
    ("no_tests", DEMO_ISSUE, BROKEN, "no tests collected from tests/test_clamp_issue.py"),
])
def test_verdicts_on_real_pytest_runs(name, issue, kind, why, junit):
    run = pytest_run(name)
    path = "tests/test_parse_issue.py" if name == "value_error" else TEST_PATH
    verdict = classify(path, issue, exit_code=run.exit_code, output=run.output, junit_xml=run.junit_xml if junit else None)
    assert verdict.kind == kind and why in verdict.reason


def test_verdicts_on_the_tests_own_mistakes_a_timeout_and_the_cap():
    own = classify(TEST_PATH, DEMO_ISSUE, exit_code=1, output=NAME_ERROR_OUT)
    assert own.kind == BROKEN and "the test's own NameError" in own.reason and "clmap" in own.output
    fixture = classify(TEST_PATH, DEMO_ISSUE, exit_code=1, output=FIXTURE_OUT)
    assert fixture.kind == BROKEN and "fixture 'numbers' not found" in fixture.reason
    late = classify(TEST_PATH, DEMO_ISSUE, exit_code=None, output="", timed_out=True)
    assert late.kind == BROKEN and "timed out" in late.reason
    run = pytest_run("syntax_error")
    capped = classify(TEST_PATH, DEMO_ISSUE, exit_code=2, output=run.output, junit_xml=run.junit_xml, limit=300)
    assert len(capped.output) <= 300 and "SyntaxError" in capped.output  # the tail, where the error is, is kept
    other = classify("tests/test_other.py", DEMO_ISSUE, exit_code=1, output=run.output, junit_xml=run.junit_xml)
    assert other.kind == BROKEN and other.tests == {}  # another file's results are not this test's


# SWE-bench ---------------------------------------------------------------------------------------

def test_swebench_runs_the_reproduction_with_the_instance_test_command(tmp_path, monkeypatch):
    from agent import runner
    from agent.swebench import verify_env
    from agent.swebench.run import RunOptions, run_one

    harness = SimpleNamespace(specs=SimpleNamespace(spec=lambda repo, version: {"test_cmd": "pytest -rA"}))
    seen = {}

    def fake_start_run(settings, request, **kw):
        seen["run"] = settings.run
        return SimpleNamespace(state={"exit_status": "unfixed", "attempts": []}, usage={})

    monkeypatch.setattr(runner, "start_run", fake_start_run)
    row = {"instance_id": "x__y-1", "repo": "x/y", "version": "1.0"}
    issue = {"id": "x__y-1", "source": "swebench", "body": "issue"}
    run_one(Settings(home=tmp_path), RunOptions(dataset=tmp_path / "d.jsonl", run_id="r", out_dir=tmp_path), row, issue,
            harness=harness)
    assert seen["run"].test_command == verify_env.TEST_COMMAND
    assert command_for(seen["run"].reproduce_command, TEST_PATH) == f"pytest -rA {TEST_PATH}"
    run_one(Settings(home=tmp_path, run={"reproduce": True}),
            RunOptions(dataset=tmp_path / "d.jsonl", run_id="r", out_dir=tmp_path, verify="none"), row, issue)
    assert seen["run"].reproduce is False  # nothing runs tests there, so no reproduction could count
