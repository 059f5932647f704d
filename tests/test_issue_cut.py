"""A huge issue is cut, not sent whole: every prompt stays inside the model's window, the cut is
marked with its size, and the run stores the whole issue once instead of at every checkpoint."""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from agent.config import RunConfig, Settings
from agent.demo_run import DEMO_DIR, prepare_sample_repo
from agent.deps import Deps
from agent.models import ScriptedModel, ScriptedServer
from agent.nodes.index import index as index_node
from agent.nodes.ingest import ingest
from agent.nodes.localize import localize
from agent.nodes.patch import patch
from agent.request import RunRequest, save_issue
from pipeline_support import FIX_REPLY, ROOT, cli, cli_env
from tools.issue_sources import cut_text, load_issue_file
from tools.tokens import estimate_tokens

TAIL = "Last line of the log: clamp(12, 0, 10) gave 0 again."
MB = 1024 * 1024
CUT = re.compile(r"\[\.\.\. ([\d,]+) characters cut \.\.\.\]")


def _huge_issue(path, size=10 * MB):
    """The demo issue, then megabytes of pasted log, then one telling line at the very end."""
    head = (DEMO_DIR / "issue.md").read_text()
    line = "worker 17: heartbeat ok, queue depth 3, nothing to report\n"
    path.write_text(head + "\n" + line * ((size - len(head)) // len(line)) + TAIL + "\n")
    return path


def _prompt(messages) -> str:
    return "".join(m["content"] for m in messages)


def test_cut_keeps_head_and_tail_and_says_how_much():
    text = "HEAD " + "x" * 100_000 + " TAIL"
    cut = cut_text(text, 1000)
    assert len(cut) <= 1000 and cut.startswith("HEAD ") and cut.endswith(" TAIL")
    marker = CUT.search(cut)
    kept = len(cut) - len(marker[0]) - 2  # the marker stands on a line of its own
    assert int(marker[1].replace(",", "")) == len(text) - kept
    # Cut again, smaller: the marker still counts from the original text, not from the first cut.
    assert cut_text(cut, 300) == cut_text(text, 300)
    assert cut_text("short", 1000) == "short"


@pytest.mark.parametrize("window", [2048, 8192])
def test_huge_issue_prompts_fit_the_window(tmp_path, monkeypatch, window):
    monkeypatch.setenv("PATCHWRIGHT_INDEX_CACHE", str(tmp_path / "index.sqlite"))
    issue = _huge_issue(tmp_path / "issue.md")
    repo = prepare_sample_repo(tmp_path)
    (tmp_path / "run").mkdir()
    model = ScriptedModel(["textkit/numbers.py", "clamp", FIX_REPLY], context_window=window)
    deps = Deps.create(Settings(home=tmp_path, run=RunConfig(model_localize=True)), tmp_path / "run",
                       model=model, sandbox=object())
    request = RunRequest(issue=load_issue_file(issue), issue_ref=str(issue), repo=str(repo))
    save_issue(deps.run_dir, request.issue)  # as start_run does
    state = {"request": request.stored(), "workspace_dir": str(repo)}
    for node in (ingest, index_node, localize, patch):
        state.update(node(state, deps))

    assert state["diff"] and len(model.requests) == 3  # two localization picks, one patch
    for messages in model.requests:
        prompt = _prompt(messages)
        assert deps.count_tokens(prompt) + deps.settings.model.max_tokens <= window
        assert "clamp(5, 0, 10)" in prompt and TAIL in prompt
        assert int(CUT.search(prompt)[1].replace(",", "")) > 9 * MB  # the true size of the cut
    assert len(json.dumps(state)) < 200_000  # what each checkpoint stores
    saved = json.loads((tmp_path / "run" / "issue.json").read_text())
    assert saved["body"].endswith(TAIL) and len(saved["body"]) > 10 * MB - 1000


@pytest.mark.docker
def test_ten_megabyte_issue_through_fix(tmp_path):
    issue = _huge_issue(tmp_path / "issue.md")
    repo = prepare_sample_repo(tmp_path)
    with ScriptedServer(["textkit/numbers.py", "clamp", FIX_REPLY]) as server:
        env = cli_env(tmp_path, server.base_url) | {"PATCHWRIGHT_RUN__MODEL_LOCALIZE": "true"}
        r = subprocess.run(cli("fix", str(issue), "--repo", str(repo), "--run-id", "big"),
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(server.requests) == 3
    for request in server.requests:
        prompt = _prompt(request["messages"])
        # The scripted server has no tokenizer route: the run budgeted with the estimate.
        assert estimate_tokens(prompt) + 1024 <= server.max_model_len  # 1024: the default reply room
        assert "clamp(5, 0, 10)" in prompt and TAIL in prompt and CUT.search(prompt)
    run_dir = tmp_path / "runs" / "big"
    sizes = {p.relative_to(run_dir).as_posix(): p.stat().st_size for p in run_dir.rglob("*") if p.is_file()}
    assert sum(sizes.values()) < 20 * MB, sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    assert sum(v for k, v in sizes.items() if k.startswith("checkpoints")) < 2 * MB
    assert sizes["issue.json"] > 10 * MB - 1000  # the whole issue, kept once
    assert json.loads((run_dir / "report.json").read_text())["status"] == "fixed"
