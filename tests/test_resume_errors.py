"""`patchwright resume` on a run it cannot continue: a missing or corrupt checkpoint, or a run
another process is driving. Each is one clear line naming the run, exit 2, and the run directory
as it was; no Docker needed (the runs stop at the model, before verify)."""
from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import subprocess
import time

import pytest

from agent.demo_run import DEMO_DIR, prepare_sample_repo
from agent.models import ScriptedServer
from pipeline_support import ROOT, cli, cli_env

DEAD = "http://127.0.0.1:9/v1"


def run_cli(home, base_url, *args, **env):
    return subprocess.run(cli(*args), cwd=ROOT, env=cli_env(home, base_url) | env,
                          capture_output=True, text=True, timeout=300)


def stopped_run(tmp_path, run_id):
    """A real run stopped by a dead model server: run.json, checkpoint, trajectory and report kept."""
    repo = prepare_sample_repo(tmp_path)
    r = run_cli(tmp_path, DEAD, "fix", str(DEMO_DIR / "issue.md"), "--repo", str(repo), "--run-id", run_id)
    assert r.returncode == 3, r.stderr
    return tmp_path / "runs" / run_id


def snapshot(run_dir):
    return {p.relative_to(run_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run_dir.rglob("*")) if p.is_file()}


def assert_clear_error(r, run_id, *words):
    assert r.returncode == 2, r.stderr
    assert f"run '{run_id}'" in r.stderr and "Traceback" not in r.stderr
    assert all(w in r.stderr for w in words), r.stderr


def test_missing_checkpoint(tmp_path):
    run_dir = stopped_run(tmp_path, "lost")
    (run_dir / "checkpoints.sqlite").unlink()
    before = snapshot(run_dir)
    r = run_cli(tmp_path, DEAD, "resume", "lost")
    assert_clear_error(r, "lost", "checkpoint", "missing")
    assert snapshot(run_dir) == before  # no empty checkpoint created, no report rewritten


def _garbage(path):
    path.write_bytes(b"\x00garbage, not SQLite\xff" * 500)


def _truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 3])


def _sql(path, statement):
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(statement)


def _emptied(path):
    _sql(path, "DELETE FROM checkpoints")


def _bad_blob(path):
    _sql(path, "UPDATE checkpoints SET checkpoint = x'c1c1c1c1'")  # 0xc1 is never valid msgpack


@pytest.mark.parametrize("damage", [_garbage, _truncated, _emptied, _bad_blob])
def test_corrupt_checkpoint(tmp_path, damage):
    run_dir = stopped_run(tmp_path, "broken")
    damage(run_dir / "checkpoints.sqlite")
    before = snapshot(run_dir)
    r = run_cli(tmp_path, DEAD, "resume", "broken")
    assert_clear_error(r, "broken", "checkpoint")
    assert snapshot(run_dir) == before


def _events(run_dir, kind, node):
    path = run_dir / "trajectory.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return sum(1 for e in rows if e["type"] == kind and e["node"] == node)


@pytest.mark.parametrize("holder", ["fix", "resume"])
def test_second_process_on_a_busy_run(tmp_path, holder):
    """The first process hangs in its model call, holding the run; a second `resume` is refused
    without touching the trajectory, and once the first dies the run can be resumed again."""
    run_dir = tmp_path / "runs" / "busy"
    if holder == "resume":
        stopped_run(tmp_path, "busy")
        args = ["resume", "busy"]
    else:
        args = ["fix", str(DEMO_DIR / "issue.md"), "--repo", str(prepare_sample_repo(tmp_path)), "--run-id", "busy"]
    patches = _events(run_dir, "node_start", "patch")
    with ScriptedServer([], mode="hang", hang_seconds=120) as server:
        env = cli_env(tmp_path, server.base_url) | {"PATCHWRIGHT_MODEL__TIMEOUT": "120"}
        first = subprocess.Popen(cli(*args), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 120
            while not (server.requests and _events(run_dir, "node_start", "patch") > patches):
                assert first.poll() is None, first.stderr.read().decode()
                assert time.time() < deadline, "the first process never reached the model"
                time.sleep(0.1)
            trajectory = (run_dir / "trajectory.jsonl").read_text()
            second = run_cli(tmp_path, DEAD, "resume", "busy")
            assert_clear_error(second, "busy", "busy", "another patchwright process")
            assert (run_dir / "trajectory.jsonl").read_text() == trajectory
        finally:
            first.kill()
            first.wait(timeout=30)
    # The kernel dropped the dead holder's lock: the run resumes (and stops at the dead model again).
    again = run_cli(tmp_path, DEAD, "resume", "busy")
    assert again.returncode == 3 and "another patchwright process" not in again.stderr, again.stderr
