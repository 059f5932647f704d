"""Smoke test with the real embedded CPU model: llama.cpp serves Qwen2.5-Coder-1.5B, and the demo
issue is fixed end to end in Docker. Graded by the final test run, never by the model's words."""
from __future__ import annotations

import json
import os

import pytest

from agent.config import RunConfig, Settings
from agent.demo_run import run_demo
from agent.models import OpenAIModelConfig
from agent.models.serve import free_port

pytestmark = [pytest.mark.model, pytest.mark.docker, pytest.mark.slow]


@pytest.mark.timeout(2400)  # 1-2 minutes on an idle 2-core machine; generous for a loaded one
def test_embedded_model_fixes_the_demo_issue(tmp_path):
    pytest.importorskip("llama_cpp") if not os.environ.get("CI") else None
    # Nothing listens on this port, so the demo starts the embedded model itself, as `patchwright demo` does.
    model = OpenAIModelConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=1, timeout=1200)
    settings = Settings(home=tmp_path, model=model, run=RunConfig())
    result = run_demo(settings, serve_model=True)
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["status"] == "fixed", report
    assert "tests/test_numbers.py::test_clamp_keeps_values_inside_the_range" in report["tests"]["fail_to_pass"]
    assert report["tests"]["exit_code_after"] == 0
    assert report["usage"]["calls"] >= 1


@pytest.mark.timeout(2400)
def test_agent_mode_text_actions_round_trip_through_llama_cpp(tmp_path):
    """Agent mode on llama.cpp, which parses no tool calls: the text fallback. Whatever the small
    model writes, its reply is read as one fenced action or sent back as format feedback, and the
    next request carries that answer."""
    from agent.trajectory import Trajectory

    pytest.importorskip("llama_cpp") if not os.environ.get("CI") else None
    model = OpenAIModelConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=1, timeout=1200)
    settings = Settings(home=tmp_path, model=model, run=RunConfig(solve="agent", agent_max_steps=2, max_attempts=1))
    result = run_demo(settings, serve_model=True)
    trajectory = Trajectory.of_run(result.run_dir)
    calls = [e for e in trajectory.events("model") if e["node"] == "agent"]
    assert len(calls) == 2
    assert "```tool" in calls[0]["request"][0]["content"]  # the tools described for text actions
    steps = trajectory.events("agent_step")
    assert len(steps) == 2
    first = steps[0]
    answer = calls[1]["request"][-1]["content"]  # what went back after the first reply
    if first["tool"] is None:
        assert first["format_error"] and first["format_error"][:40] in answer
    else:
        assert first["observation"][:40] in answer
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["agent"]["tool_calls"] == "text"
