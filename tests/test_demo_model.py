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
