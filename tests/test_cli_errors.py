"""Bad input and dead infrastructure: a clear error naming the problem, a non-zero exit, and
nothing already done is lost."""
from __future__ import annotations

import json
import subprocess

import pytest

from agent.demo_run import DEMO_DIR, prepare_sample_repo
from agent.models import ScriptedServer
from pipeline_support import ROOT, cli, cli_env


def run_cli(home, base_url, *args, timeout=300):
    return subprocess.run(cli(*args), cwd=ROOT, env=cli_env(home, base_url), capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def sample_repo(tmp_path):
    return prepare_sample_repo(tmp_path)


def test_malformed_issue_file(tmp_path, sample_repo):
    bad = tmp_path / "issue.json"
    bad.write_text('{"title": "x", "body": ')
    r = run_cli(tmp_path, "http://127.0.0.1:9/v1", "fix", str(bad), "--repo", str(sample_repo))
    assert r.returncode == 2
    assert "not valid JSON" in r.stderr and "issue.json" in r.stderr


def test_issue_json_without_body(tmp_path, sample_repo):
    bad = tmp_path / "issue.json"
    bad.write_text('{"title": "only a title"}')
    r = run_cli(tmp_path, "http://127.0.0.1:9/v1", "fix", str(bad), "--repo", str(sample_repo))
    assert r.returncode == 2 and "malformed" in r.stderr and "body" in r.stderr


def test_unknown_instance_id(tmp_path):
    dataset = tmp_path / "d.jsonl"
    dataset.write_text(json.dumps({"instance_id": "a__b-1", "repo": "a/b", "base_commit": "0" * 40, "problem_statement": "x"}) + "\n")
    r = run_cli(tmp_path, "http://127.0.0.1:9/v1", "fix", "swebench:nope__nope-1", "--dataset", str(dataset))
    assert r.returncode == 2 and "unknown SWE-bench instance id 'nope__nope-1'" in r.stderr


def test_missing_repository(tmp_path):
    r = run_cli(tmp_path, "http://127.0.0.1:9/v1", "fix", str(DEMO_DIR / "issue.md"), "--repo", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "repository not found" in r.stderr


def test_base_commit_not_found(tmp_path, sample_repo):
    r = run_cli(tmp_path, "http://127.0.0.1:9/v1", "fix", str(DEMO_DIR / "issue.md"), "--repo", str(sample_repo),
                "--commit", "deadbeef" * 5)
    assert r.returncode == 2 and "base commit deadbeef" in r.stderr and "not found" in r.stderr


@pytest.mark.parametrize("mode,expect", [("down", "not reachable"), ("garbage", "invalid response"), ("hang", "did not answer")])
def test_dead_model_server_keeps_the_run(tmp_path, sample_repo, mode, expect):
    if mode == "down":
        base_url, server = "http://127.0.0.1:9/v1", None
    else:
        server = ScriptedServer([], mode=mode, hang_seconds=20).start()
        base_url = server.base_url
    try:
        r = run_cli(tmp_path, base_url, "fix", str(DEMO_DIR / "issue.md"), "--repo", str(sample_repo), "--run-id", "r1")
    finally:
        if server:
            server.close()
    assert r.returncode == 3, r.stderr
    assert expect in r.stderr and base_url.split("/v1")[0] in r.stderr
    assert "patchwright resume r1" in r.stderr
    run_dir = tmp_path / "runs" / "r1"
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "error" and expect in report["reason"]
    # What was done before the model call is kept: the workspace and the finished nodes.
    assert (run_dir / "workspace" / "textkit" / "words.py").exists()
    done = [json.loads(l)["node"] for l in (run_dir / "trajectory.jsonl").read_text().splitlines() if '"type": "node"' in l]
    assert done[:3] == ["ingest", "workspace", "index"]
