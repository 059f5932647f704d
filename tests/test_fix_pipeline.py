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

BUG_TEST = "tests/test_words.py::test_word_count_ignores_repeated_whitespace"


def _user_prompts(server: ScriptedServer) -> list[str]:
    return [m["content"] for req in server.requests for m in req["messages"] if m["role"] == "user"]


def test_scripted_fix_end_to_end(tmp_path):
    with ScriptedServer([FIX_REPLY]) as server:
        result = run_demo(make_settings(tmp_path, server.base_url), serve_model=False)
    assert result.fixed
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["status"] == "fixed"
    assert report["tests"]["fail_to_pass"] == [BUG_TEST]
    assert report["tests"]["pass_to_fail"] == []
    assert report["files_changed"] == ["textkit/words.py"]
    assert report["usage"]["calls"] == 1 and report["usage"]["prompt_tokens"] > 0
    evidence = json.loads((result.run_dir / "evidence.json").read_text())
    assert evidence["tests_before"][BUG_TEST] == "failed"
    assert evidence["tests_after"][BUG_TEST] == "passed"
    # The issue text and the ranked code reached the model; the test files did not need to.
    prompt = _user_prompts(server)[0]
    assert "hello   world" in prompt and "def word_count" in prompt

    # patch.diff applies to a clean copy of the sample repository and fixes it there too.
    clean = tmp_path / "clean"
    subprocess.run(["git", "clone", "-q", str(tmp_path / "demo" / "textkit"), str(clean)], check=True)
    subprocess.run(["git", "apply", str(result.run_dir / "patch.diff")], cwd=clean, check=True)
    assert "text.split()" in (clean / "textkit" / "words.py").read_text()
    for name in ("report.md", "trajectory.jsonl", "checkpoints.sqlite", "tests/before.log", "tests/attempt-1.log"):
        assert (result.run_dir / name).exists(), name


def test_failing_tests_feed_the_next_attempt(tmp_path):
    with ScriptedServer([WRONG_REPLY, FIX_REPLY]) as server:
        result = run_demo(make_settings(tmp_path, server.base_url), serve_model=False)
    assert result.fixed
    prompts = _user_prompts(server)
    assert len(prompts) == 2
    second = prompts[1]
    assert "text.strip().split" in second            # the previous diff is shown
    assert BUG_TEST.split("::")[1] in second          # with the failing test
    assert "AssertionError" in second or "assert 4 == 2" in second
    attempts = json.loads((result.run_dir / "report.json").read_text())["attempts"]
    assert [a["outcome"] for a in attempts] == ["tests_failed", "tests_passed"]


def test_unmatched_search_gets_closest_lines_back(tmp_path):
    with ScriptedServer([NO_MATCH_REPLY, FIX_REPLY]) as server:
        result = run_demo(make_settings(tmp_path, server.base_url), serve_model=False)
    assert result.fixed
    second_request = server.requests[1]["messages"]
    feedback = second_request[-1]["content"]
    assert second_request[-2]["role"] == "assistant"
    assert "textkit/words.py" in feedback
    assert 'return len(text.split(" "))' in feedback  # the closest real line is shown
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["attempts"][0]["turns"] == 2


def test_attempts_are_bounded(tmp_path):
    with ScriptedServer([WRONG_REPLY, WRONG_REPLY]) as server:
        result = run_demo(make_settings(tmp_path, server.base_url, max_attempts=2), serve_model=False)
    assert not result.fixed and result.exit_code == 1
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["status"] == "unfixed" and "2 attempt" in report["reason"]
    assert len(server.requests) == 2
