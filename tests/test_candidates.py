"""Several patch candidates per attempt (run.samples), chosen by execution: each distinct diff runs
the regression tests and the reproduction test in its own sandbox run, the best by tier, votes and
size becomes the attempt's patch. The demo issue and repository, a scripted model, the scripted
sandbox answering each test run in order, without Docker."""
from __future__ import annotations

import json
from pathlib import Path

from agent.config import Settings
from agent.demo_run import run_demo
from agent.models import ScriptedModel
from agent.nodes.selection import choose
from agent.trajectory import Trajectory
from pipeline_support import AFTER, BEFORE, DEMO_TESTS, FIX_REPLY, NO_MATCH_REPLY, WRONG_REPLY, run_result
from sandbox.scripted import ScriptedResult, ScriptedSandbox
from tools.edits.normalize import changed_lines, normalize_diff

RUNS = Path(__file__).parent / "fixtures" / "reproduction"  # real pytest runs of a reproduction test
TEST_PATH = "tests/test_clamp_issue.py"
REPRODUCING = ("from textkit.numbers import clamp\n\n\n"
               "def test_clamp_keeps_a_value_inside_the_range():\n    assert clamp(5, 0, 10) == 5\n")
REPRODUCE_REPLY = f"TEST {TEST_PATH}\n```python\n{REPRODUCING}```\n"
REPRO_FAILS = ScriptedResult(exit_code=1, output=(RUNS / "assertion.out").read_text(),
                             junit_xml=(RUNS / "assertion.xml").read_text())
REPRO_PASSES = ScriptedResult(exit_code=0, output=(RUNS / "fixed.out").read_text(),
                              junit_xml=(RUNS / "fixed.xml").read_text())
# Applies, and the scripted run of it breaks test_parse_int_list, which passed before.
BREAKING_REPLY = """textkit/numbers.py
<<<<<<< SEARCH
    return max(low, min(value, low))
=======
    return max(low, min(value, high)) if value else None
>>>>>>> REPLACE
"""
BROKEN = DEMO_TESTS[0]
BREAKS = run_result([BROKEN], f"FAILED {BROKEN} - TypeError\n1 failed, 3 passed")
# FIX_REPLY again, differing only in whitespace: trailing spaces on the new line, no final newline.
FIX_REPLY_SPACED = FIX_REPLY.replace("min(value, high))", "min(value, high))   ").rstrip("\n")


def fix(tmp_path: Path, model: ScriptedModel, results: list[ScriptedResult], **run):
    sandbox = ScriptedSandbox([r.result() for r in results])
    result = run_demo(Settings(home=tmp_path, run=run), serve_model=False, model=model, sandbox=sandbox)
    assert sandbox.remaining == 0  # every scripted test run was used: each distinct candidate ran once
    return result, sandbox, json.loads((result.run_dir / "report.json").read_text())


def by_index(report: dict) -> dict[int, dict]:
    return {c["index"]: c for c in report["candidates"]}


# (a) --------------------------------------------------------------------------------------------

def test_the_candidate_passing_the_reproduction_with_no_regression_is_chosen(tmp_path):
    model = ScriptedModel([REPRODUCE_REPLY, BREAKING_REPLY, WRONG_REPLY, FIX_REPLY])
    # The reproduction on the base commit, the tests before; then per candidate its tests and the reproduction.
    result, sandbox, report = fix(tmp_path, model, [REPRO_FAILS, BEFORE, BREAKS, REPRO_PASSES, AFTER, REPRO_FAILS,
                                                    AFTER, REPRO_PASSES], reproduce=True, samples=3)
    assert result.fixed and model.remaining == 0
    c = by_index(report)
    assert list(c) == [1, 2, 3]
    assert c[1]["regressions"] == [BROKEN] and c[1]["reproduction"] == "passed" and c[1]["tier"] == 3
    assert c[2]["regressions"] == [] and c[2]["tests_passed"] and c[2]["reproduction"] == "failed"
    assert c[3]["regressions"] == [] and c[3]["tests_passed"] and c[3]["reproduction"] == "passed"
    assert [x["chosen"] for x in c.values()] == [False, False, True]
    assert all(x["tested"] and x["votes"] == 1 and x["tests"] == 4 for x in c.values())
    assert [(x["temperature"], x["variant"]) for x in c.values()] == [(0.0, "ranked"), (0.8, "ranked"),
                                                                       (0.8, "reversed")]
    why = "the only candidate whose reproduction test and test command pass, with no regression"
    assert report["chosen"] == {"index": 3, "why": why}
    assert report["reason"].endswith(f"(candidate 3 of 3: {why})")
    assert "+    return max(low, min(value, high))\n" in (result.run_dir / "patch.diff").read_text()
    assert report["reproduction"]["after_fix"] == "passed" and report["tests"]["pass_to_fail"] == []
    assert report["attempts"][0]["chosen"] == 3 and report["attempts"][0]["candidates_made"] == 3
    events = Trajectory.of_run(result.run_dir).events("candidate")
    assert [(e["attempt"], e["index"], e["chosen"]) for e in events] == [(1, 1, False), (1, 2, False), (1, 3, True)]
    assert events[0]["regressions"] == [BROKEN] and "diff" not in events[0]
    logs = {p.name for p in (result.run_dir / "tests").iterdir()}
    assert {f"attempt-1-candidate-{i}.log" for i in (1, 2, 3)} <= logs
    assert {f"reproduction-1-candidate-{i}.log" for i in (1, 2, 3)} <= logs
    md = (result.run_dir / "report.md").read_text()
    assert "## Candidates (last attempt)" in md and "| 3 (chosen) | 0.8 | reversed |" in md
    assert f"Chosen: #3, {why}." in md


# (b) --------------------------------------------------------------------------------------------

def test_candidates_differing_only_in_whitespace_are_tested_once_and_vote_together(tmp_path):
    # Candidate 1 passes the tests as well, so the votes decide: 2 and 3 make the same change.
    model = ScriptedModel([WRONG_REPLY, FIX_REPLY, FIX_REPLY_SPACED])
    result, sandbox, report = fix(tmp_path, model, [BEFORE, AFTER, AFTER], samples=3)
    assert len([call for call in sandbox.calls if call["call"] == "run"]) == 3  # before, candidate 1, candidate 2
    diffs = [c["diff"] for c in result.state["candidates"]]
    assert diffs[1] != diffs[2] and normalize_diff(diffs[1]) == normalize_diff(diffs[2])
    c = by_index(report)
    assert (c[2]["votes"], c[2]["same_as"], c[2]["tested"]) == (2, None, True)
    assert (c[3]["votes"], c[3]["same_as"], c[3]["tested"]) == (2, 2, False)
    assert c[1]["votes"] == 1 and c[3]["tests_passed"]  # the duplicate shares its twin's results
    assert report["chosen"] == {"index": 2, "why": "2 distinct candidates whose test command passes with no "
                                                   "regression; this one has the most votes (2 of 3)"}
    assert result.fixed and "min(value, high)" in (result.run_dir / "patch.diff").read_text()
    assert "A test that reproduces the issue" not in model.requests[0][-1]["content"]  # none was written


class Focusing(ScriptedSandbox):
    """A sandbox that picks its regression tests (as SWE-bench's SpecSandbox does): told what changes."""

    def __init__(self, results):
        super().__init__(results)
        self.focused: list[list[str]] = []

    def focus(self, repo_dir, changed):
        self.focused.append(list(changed))


def test_the_regression_tests_are_chosen_knowing_every_candidates_files(tmp_path):
    model = ScriptedModel([WRONG_REPLY, FIX_REPLY])
    sandbox = Focusing([r.result() for r in (BEFORE, AFTER, AFTER)])
    run_demo(Settings(home=tmp_path, run={"samples": 2}), serve_model=False, model=model, sandbox=sandbox)
    assert sandbox.focused == [["textkit/numbers.py", "textkit/numbers.py"]]  # once, before the base run


def test_normalisation_ignores_headers_hunk_numbers_and_whitespace_but_not_where_a_change_is():
    one = ("diff --git a/m.py b/m.py\nindex 1111111..2222222 100644\n--- a/m.py\n+++ b/m.py\n"
           "@@ -10,3 +10,3 @@ def f():\n     a = 1\n-    b = 2\n+    b = 3\n     c = 4\n")
    spaced = ("diff --git a/m.py b/m.py\nindex 1111111..3333333 100644\n--- a/m.py\n+++ b/m.py\n"
              "@@ -12,4 +12,5 @@ def f():\n-    a = 1\n+    a  =  1   \n-    b = 2\n+    b = 3\n+\n     c = 4\n"
              "\\ No newline at end of file\n")
    elsewhere = one.replace("     a = 1\n", "     z = 0\n")
    assert normalize_diff(one) == normalize_diff(spaced)
    assert normalize_diff(one) != normalize_diff(elsewhere)
    assert changed_lines(one) == 2 and changed_lines(spaced) == 5


def test_ties_on_votes_go_to_the_smaller_diff():
    def tested(index, lines):
        return {"index": index, "tier": 0, "votes": 1, "diff_lines": lines, "same_as": None}

    assert choose([tested(1, 9), tested(2, 3), {"index": 3, "same_as": None}], reproduced=False) == (
        2, "2 distinct candidates whose test command passes with no regression, tied on votes; "
           "this one is the smallest diff (3 changed lines)")


# (c) --------------------------------------------------------------------------------------------

class HundredTokens(ScriptedModel):
    """Every request costs 100 tokens (90 prompt, 10 completion), whatever it holds."""

    def complete(self, messages, **options):
        reply = super().complete(messages, **options)
        reply.prompt_tokens, reply.completion_tokens = 90, 10
        return reply


def test_the_token_budget_stops_generating_and_the_best_so_far_is_delivered(tmp_path):
    model = HundredTokens([BREAKING_REPLY, FIX_REPLY, WRONG_REPLY])
    result, _, report = fix(tmp_path, model, [BEFORE, BREAKS, AFTER], samples=3, budget_tokens=150)
    assert model.remaining == 1 and len(model.requests) == 2  # the third reply was never asked for
    assert result.fixed and [c["index"] for c in report["candidates"]] == [1, 2]
    assert report["chosen"]["index"] == 2
    assert report["reason"].startswith("token budget reached after 2 of 3 candidates: 200 tokens of "
                                       "run.budget_tokens = 150; ")
    assert report["attempts"][0]["stopped"].startswith("token budget reached after 2 of 3 candidates")
    spend = report["spend"]
    assert (spend["tokens"], spend["prompt_tokens"], spend["calls"], spend["budget_tokens"]) == (200, 180, 2, 150)
    assert spend["budget_seconds"] is None and spend["seconds"] >= 0
    assert "Spent 200 of 150 tokens" in (result.run_dir / "report.md").read_text()


def test_the_token_budget_also_stops_another_attempt(tmp_path):
    model = HundredTokens([WRONG_REPLY, FIX_REPLY])
    wrong = run_result([DEMO_TESTS[1]], "1 failed")
    result, _, report = fix(tmp_path, model, [BEFORE, wrong], budget_tokens=100)
    assert not result.fixed and len(model.requests) == 1
    assert "token budget reached: 100 tokens of run.budget_tokens = 100" in report["reason"]


# (d) --------------------------------------------------------------------------------------------

def test_same_prompt_samples_go_in_one_request_with_n_after_the_greedy_one(tmp_path):
    model = ScriptedModel([FIX_REPLY] * 4)
    result, _, report = fix(tmp_path, model, [BEFORE, AFTER], samples=4)
    # Candidate 1 greedy; 2 and 4 sample the ranked code together; 3 the variant, in its own request.
    assert model.options == [{"n": 1, "temperature": 0.0}, {"n": 2, "temperature": 0.8},
                             {"n": 1, "temperature": 0.8}]
    ranked, again, reversed_ = (request[-1]["content"] for request in model.requests)
    assert ranked == again and ranked != reversed_
    assert ranked.index("## textkit/numbers.py") < ranked.index("## tests/test_words.py")
    assert reversed_.index("## tests/test_words.py") < reversed_.index("## textkit/numbers.py")
    c = by_index(report)
    assert [(c[i]["temperature"], c[i]["variant"]) for i in (1, 2, 3, 4)] == [
        (0.0, "ranked"), (0.8, "ranked"), (0.8, "reversed"), (0.8, "ranked")]
    assert all(x["votes"] == 4 for x in c.values()) and [x["same_as"] for x in c.values()] == [None, 1, 1, 1]
    assert report["chosen"] == {"index": 1, "why": "all 4 candidates made this same change"}
    assert (result.run_dir / "tests" / "attempt-1.log").exists()  # one distinct candidate: today's log name
    calls = Trajectory.of_run(result.run_dir).events("model")
    assert [(e.get("n"), e.get("temperature")) for e in calls] == [(None, 0.0), (2, 0.8), (None, 0.8)]
    assert len(calls[1]["choices"]) == 2


def test_each_candidate_repairs_its_own_edits_and_a_greedy_ones_retry_samples(tmp_path):
    # Candidate 1's SEARCH text matches nothing: its retry comes before candidate 2 is asked for,
    # at run.sample_temperature (greedy decoding would tend to give the refused answer again).
    model = ScriptedModel([NO_MATCH_REPLY, FIX_REPLY, WRONG_REPLY])
    wrong = run_result([DEMO_TESTS[1]], "1 failed")
    result, _, report = fix(tmp_path, model, [BEFORE, AFTER, wrong], samples=2, max_edit_retries=1)
    assert model.options == [{"n": 1, "temperature": 0.0}, {"n": 1, "temperature": 0.8},
                             {"n": 1, "temperature": 0.8}]
    retry = model.requests[1]
    assert retry[-2] == {"role": "assistant", "content": NO_MATCH_REPLY} and "textkit/numbers.py" in retry[-1]["content"]
    assert [(c["index"], c["turns"]) for c in report["candidates"]] == [(1, 2), (2, 1)]
    assert result.fixed and report["chosen"]["index"] == 1 and report["attempts"][0]["turns"] == 3


def test_one_sample_asks_as_before(tmp_path):
    model = ScriptedModel([FIX_REPLY])
    result, _, report = fix(tmp_path, model, [BEFORE, AFTER])
    assert model.options == [{"n": 1, "temperature": None}]  # the model config's own temperature
    assert report["reason"] == "2 test(s) failed before the patch and pass after it"
    assert report["chosen"] == {"index": 1, "why": "the only candidate"} and len(report["candidates"]) == 1
    assert "## Candidates" not in (result.run_dir / "report.md").read_text()


# (e) --------------------------------------------------------------------------------------------

def test_the_patch_prompt_shows_the_reproduction_and_its_failing_output(tmp_path):
    model = ScriptedModel([REPRODUCE_REPLY, FIX_REPLY])
    result, _, report = fix(tmp_path, model, [REPRO_FAILS, BEFORE, AFTER, REPRO_PASSES], reproduce=True)
    assert result.fixed and report["reproduction"]["status"] == "reproduced"
    asked = model.requests[1][-1]["content"]
    assert "# A test that reproduces the issue" in asked and f"This new test, {TEST_PATH}, fails" in asked
    assert "assert clamp(5, 0, 10) == 5" in asked  # its code
    assert "E       assert 0 == 5" in asked  # and the failing output on the base commit
    assert asked.index("# Relevant code") < asked.index("# A test that reproduces the issue")
    prompt = "".join(m["content"] for m in model.requests[1])
    assert model.count_tokens(prompt) + Settings(home=tmp_path).model.max_tokens <= model.context_window()
