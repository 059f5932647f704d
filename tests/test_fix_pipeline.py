"""The fix graph end to end on the bundled sample repository: real git workspace, real Docker
tests, the real openai client talking HTTP to a scripted server."""
from __future__ import annotations

import json
import subprocess

import pytest

from agent.demo_run import run_demo
from agent.models import ScriptedServer
from pipeline_support import FIX_REPLY, NO_MATCH_REPLY, WRONG_REPLY, make_settings

pytestmark = [pytest.mark.docker]

BUG_TESTS = ["tests/test_numbers.py::test_clamp_keeps_values_inside_the_range",
             "tests/test_numbers.py::test_clamp_limits_values_outside_the_range"]


def _user_prompts(server: ScriptedServer) -> list[str]:
    """The last user turn of each request (earlier turns are the worked format example)."""
    return [req["messages"][-1]["content"] for req in server.requests]


def test_scripted_fix_end_to_end(tmp_path):
    with ScriptedServer([FIX_REPLY]) as server:
        result = run_demo(make_settings(tmp_path, server.base_url), serve_model=False)
    assert result.fixed
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["status"] == "fixed"
    assert report["tests"]["fail_to_pass"] == BUG_TESTS
    assert report["tests"]["pass_to_fail"] == []
    assert report["files_changed"] == ["textkit/numbers.py"]
    assert report["usage"]["calls"] == 1 and report["usage"]["prompt_tokens"] > 0
    evidence = json.loads((result.run_dir / "evidence.json").read_text())
    assert all(evidence["tests_before"][t] == "failed" and evidence["tests_after"][t] == "passed" for t in BUG_TESTS)
    # The issue text and the ranked code reached the model; the test files did not need to.
    prompt = _user_prompts(server)[0]
    assert "clamp(5, 0, 10)" in prompt and "def clamp" in prompt

    # patch.diff applies to a clean copy of the sample repository and fixes it there too.
    clean = tmp_path / "clean"
    subprocess.run(["git", "clone", "-q", str(tmp_path / "demo" / "textkit"), str(clean)], check=True)
    subprocess.run(["git", "apply", str(result.run_dir / "patch.diff")], cwd=clean, check=True)
    assert "min(value, high)" in (clean / "textkit" / "numbers.py").read_text()
    for name in ("report.md", "trajectory.jsonl", "checkpoints.sqlite", "tests/before.log", "tests/attempt-1.log"):
        assert (result.run_dir / name).exists(), name


def test_failing_tests_feed_the_next_attempt(tmp_path):
    with ScriptedServer([WRONG_REPLY, FIX_REPLY]) as server:
        result = run_demo(make_settings(tmp_path, server.base_url), serve_model=False)
    assert result.fixed
    prompts = _user_prompts(server)
    assert len(prompts) == 2
    second = prompts[1]
    assert "min(value, max(low, value))" in second    # the previous diff is shown
    assert "test_clamp_limits_values_outside_the_range" in second  # with the failing test
    assert "assert 5 == 3" in second                   # and its output
    attempts = json.loads((result.run_dir / "report.json").read_text())["attempts"]
    assert [a["outcome"] for a in attempts] == ["tests_failed", "tests_passed"]


def test_unmatched_search_gets_closest_lines_back(tmp_path):
    with ScriptedServer([NO_MATCH_REPLY, FIX_REPLY]) as server:
        result = run_demo(make_settings(tmp_path, server.base_url), serve_model=False)
    assert result.fixed
    second_request = server.requests[1]["messages"]
    feedback = second_request[-1]["content"]
    assert second_request[-2]["role"] == "assistant"
    assert "textkit/numbers.py" in feedback
    assert "return max(low, min(value, low))" in feedback  # the closest real line is shown
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["attempts"][0]["turns"] == 2


def test_attempts_are_bounded(tmp_path):
    with ScriptedServer([WRONG_REPLY, WRONG_REPLY]) as server:
        result = run_demo(make_settings(tmp_path, server.base_url, max_attempts=2), serve_model=False)
    assert not result.fixed and result.exit_code == 1
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["status"] == "unfixed" and "2 attempt" in report["reason"]
    assert len(server.requests) == 2
