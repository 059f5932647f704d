"""`swebench peer mini-swe-agent`: the real mini-swe-agent (its pinned package in its own venv, its own
config file and agent loop) against the scripted model server, in our offline instance image of the
local fixture instance; its submission becomes an official prediction that our harness grades."""
from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from agent.models import ScriptedServer
from agent.peers import install
from agent.peers.mini_swe_agent import PACKAGE, PeerOptions, choose_config, run_peer
from agent.swebench.cli import swebench_app
from agent.swebench.dataset import load_specs
from agent.swebench.eval import EvalOptions, evaluate
from agent.swebench.harness import Harness
from pipeline_support import make_settings
from swebench_support import make_fixture

SECRET = "pw-test-secret-not-for-the-peer"


def _reply(command: str, thought: str = "Next step.") -> str:
    return f"THOUGHT: {thought}\n\n```mswea_bash_command\n{command}\n```"


REPLIES = [
    _reply("cat calc/ops.py", "Look at the code."),
    # Two actions in one reply: mini-swe-agent's format error, sent back to the model.
    "I will run two commands.\n```mswea_bash_command\nls\n```\n```mswea_bash_command\npwd\n```",
    _reply("(python3 -c \"import socket; socket.create_connection(('10.255.255.1', 80), 3)\" && echo ONLINE) "
           "|| echo OFFLINE; env | grep -c pw-test-secret || true; ls /root/.cache/patchwright 2>&1 | head -1"),
    _reply("sed -i '6s/a + b/a - b/' calc/ops.py", "sub adds: make it subtract."),
    _reply("git diff -- calc/ops.py > patch.txt"),
    _reply("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && cat patch.txt", "Submit."),
]


def test_config_follows_the_servers_tool_calling():
    assert choose_config(True) == ("swebench.yaml", "litellm")
    assert choose_config(None) == ("swebench_backticks.yaml", "litellm_textbased")  # llama.cpp: no parser
    assert choose_config(False, "swebench_xml.yaml") == ("swebench_xml.yaml", "litellm_textbased")


@pytest.mark.docker
@pytest.mark.slow
def test_mini_swe_agent_fixes_the_fixture_in_our_container_and_is_graded(tmp_path, monkeypatch):
    install.install(PACKAGE)  # idempotent: scripts/setup.sh installed it
    monkeypatch.setenv("PATCHWRIGHT_APP__PRIVATE_KEY", SECRET)  # a worker's secret must not reach the peer
    fx = make_fixture(tmp_path / "fx", ["local__calc-1"])
    out = tmp_path / "out"
    with ScriptedServer(list(REPLIES)) as server:
        settings = make_settings(tmp_path / "home", server.base_url)
        opts = PeerOptions(dataset=fx["dataset"], run_id="mini", out_dir=out, repos=fx["repos"], specs=fx["specs"],
                           time_limit=300, hard_grace=300)
        summary = run_peer(settings, opts)
        asked = list(server.requests)
    assert len(asked) == len(REPLIES)
    prompt = json.dumps(asked[0])
    assert "calc.ops.sub returns the sum" in prompt and "mswea_bash_command" in prompt  # its own backticks config
    assert "test_sub" not in json.dumps(asked)  # the hidden test never reaches the peer

    info = summary["instances"]["local__calc-1"]
    assert info["status"] == "Submitted" and info["steps"] == len(REPLIES) and info["format_errors"] == 1
    assert summary["scaffold"] == f"{PACKAGE} {install.version(PACKAGE)}"
    assert summary["limits"]["wall_time_limit_seconds"] == 300
    assert summary["limits"]["config_file"] == "swebench_backticks.yaml"
    # The step limit it ran with, as its own merged config says (the backticks config's 250), not a placeholder.
    assert info["step_limit"] == 250 and summary["limits"]["step_limit"] == 250

    traj = json.loads((out / "mini" / info["trajectory"]).read_text())
    observations = [m["content"] for m in traj["messages"] if m["role"] == "user"]
    probe = next(o for o in observations if "OFFLINE" in o or "ONLINE" in o)
    assert "OFFLINE" in probe and "ONLINE\n" not in probe  # network off in the container
    assert "\n0\n" in probe  # no secret in the container's environment
    assert "No such file or directory" in probe  # no host folder in the container

    preds = [json.loads(line) for line in (out / "mini" / "predictions.jsonl").read_text().splitlines()]
    assert [p["instance_id"] for p in preds] == ["local__calc-1"]
    assert preds[0]["model_name_or_path"].startswith("mini-swe-agent__")
    assert "-    return a + b" in preds[0]["model_patch"] and "+    return a - b" in preds[0]["model_patch"]

    # Graded by our harness, like ours.
    specs = load_specs(fx["specs"])
    harness = Harness(specs, fx["repos"], out, timeout=300, cpus=1.0, mem_limit="1g")
    report = evaluate(EvalOptions(dataset=fx["dataset"], run_id="mini", out_dir=out,
                                  predictions=out / "mini" / "predictions.jsonl"), harness, specs)
    assert report["resolved_ids"] == ["local__calc-1"]

    # And set beside another graded run (the unpatched oracle) by `swebench compare`.
    evaluate(EvalOptions(dataset=fx["dataset"], run_id="empty", out_dir=out, oracle="empty"), harness, specs)
    shown = CliRunner().invoke(swebench_app, ["compare", "mini", "empty", "--out", str(out)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert re.search(r"resolved\s+1\s+0\b", shown.output)  # mini-swe-agent resolves it, the empty oracle does not
    assert f"{PACKAGE} {install.version(PACKAGE)}" in shown.output and "oracle-empty, not a model" in shown.output
    assert (out / "compare" / "mini__vs__empty.html").is_file()

    # Resumable: a second run asks nothing.
    with ScriptedServer([]) as server:
        again = run_peer(make_settings(tmp_path / "home", server.base_url), opts)
        assert server.requests == []
    assert again["instances"]["local__calc-1"]["status"] == "Submitted"


def test_a_dead_model_server_stops_the_peer_before_any_container(tmp_path):
    from agent.models.base import ModelError

    fx = make_fixture(tmp_path / "fx", ["local__calc-1"])
    settings = make_settings(tmp_path / "home", "http://127.0.0.1:9/v1")  # nothing listens on port 9
    opts = PeerOptions(dataset=fx["dataset"], run_id="mini", out_dir=tmp_path / "out", repos=fx["repos"])
    with pytest.raises(ModelError, match="127.0.0.1:9"):
        run_peer(settings, opts)
    assert not (tmp_path / "out" / "mini" / "predictions.jsonl").exists()


def test_a_peer_not_installed_says_how_to_install_it(tmp_path):
    with pytest.raises(install.PeerError, match="swebench peer-install mini-swe-agent"):
        install.peer_python(PACKAGE, root=tmp_path)


def test_a_worker_killed_before_its_first_step_is_recorded_with_an_empty_patch(tmp_path, monkeypatch):
    # pytest-7205 on the CPU panel: mini-swe-agent saved no trajectory before our hard limit killed it.
    # The run goes on: the instance counts as killed with nothing submitted, not as a crash of the runner.
    import sys
    from types import SimpleNamespace

    from agent.peers import mini_swe_agent

    hang = tmp_path / "hang.py"
    hang.write_text("import time\ntime.sleep(60)\n")
    monkeypatch.setattr(mini_swe_agent, "WORKER", hang)
    dropped = []
    harness = SimpleNamespace(env_image=lambda row: "env", instance_image=lambda row, env: ("img", None, None),
                              drop_instance_image=dropped.append, sb=SimpleNamespace(labels={}))
    settings = make_settings(tmp_path / "home", "http://127.0.0.1:9/v1")
    opts = PeerOptions(dataset=tmp_path / "d.jsonl", run_id="mini", out_dir=tmp_path / "out", time_limit=1, hard_grace=1)
    endpoint = {"model": "m", "base_url": "http://127.0.0.1:9/v1", "api_key": "EMPTY"}
    info, patch = mini_swe_agent._one(sys.executable, harness, settings, opts, {"instance_id": "acme__x-1"},
                                      endpoint, "swebench_backticks.yaml", "litellm_textbased")
    assert patch == "" and info["status"] == "Killed" and "killed after 2 s" in info["reason"]
    assert info["steps"] == 0 and dropped == ["img"]
