"""SIGKILL in the middle of verify, then `patchwright resume`: the run finishes from its last
checkpoint and the nodes before verify do not run again."""
from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from agent.demo_run import DEMO_DIR, prepare_sample_repo
from agent.models import ScriptedServer
from pipeline_support import FIX_REPLY, ROOT, cli, cli_env

pytestmark = [pytest.mark.docker]


def _events(run_dir):
    """Events so far, read while the run may be writing: a torn last line is skipped, not an error."""
    path = run_dir / "trajectory.jsonl"
    events = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def test_sigkill_during_verify_then_resume(tmp_path):
    repo = prepare_sample_repo(tmp_path)
    run_dir = tmp_path / "runs" / "killed"
    with ScriptedServer([FIX_REPLY]) as server:
        env = cli_env(tmp_path, server.base_url)
        proc = subprocess.Popen(cli("fix", str(DEMO_DIR / "issue.md"), "--repo", str(repo), "--run-id", "killed"),
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 300
        while not any(e["type"] == "node_start" and e["node"] == "verify" for e in _events(run_dir)):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.time() < deadline, "verify never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert not (run_dir / "report.json").exists()  # it really died before finishing

        r = subprocess.run(cli("resume", "killed"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "fixed"
    finished = [e["node"] for e in _events(run_dir) if e["type"] == "node"]
    assert finished == ["ingest", "workspace", "index", "localize", "reproduce", "patch", "verify",
                        "deliver"]
    started = [e["node"] for e in _events(run_dir) if e["type"] == "node_start"]
    assert started.count("verify") == 2 and started.count("patch") == 1
    assert len(server.requests) == 1  # the model was not asked again


def test_resume_of_a_finished_run_changes_nothing(tmp_path):
    repo = prepare_sample_repo(tmp_path)
    with ScriptedServer([FIX_REPLY]) as server:
        env = cli_env(tmp_path, server.base_url)
        first = subprocess.run(cli("fix", str(DEMO_DIR / "issue.md"), "--repo", str(repo), "--run-id", "done"),
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert first.returncode == 0, first.stderr
        before = (tmp_path / "runs" / "done" / "trajectory.jsonl").read_text()
        again = subprocess.run(cli("resume", "done"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0
    assert (tmp_path / "runs" / "done" / "trajectory.jsonl").read_text() == before


def test_resume_unknown_run(tmp_path):
    r = subprocess.run(cli("resume", "no-such-run"), cwd=ROOT, env=cli_env(tmp_path, "http://127.0.0.1:9/v1"),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no run 'no-such-run'" in r.stderr
