"""`swebench run`: the fix graph over fixture instances with the scripted model server; official
predictions, resumable, and nothing hidden (test_patch, FAIL_TO_PASS) in what the model receives."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from agent.models import ScriptedServer
from agent.swebench.run import RunOptions, run_instances
from pipeline_support import make_settings
from swebench_support import FIX_REPLY, PROBLEM, asked, make_fixture


def _settings(home, base_url):
    # A generous HTTP timeout: under a loaded CI machine a 5 s one turns a scripted reply into an error.
    settings = make_settings(home, base_url)
    return settings.model_copy(update={"model": settings.model.model_copy(update={"timeout": 120.0})})


def _opts(fx, out, **kw):
    return RunOptions(dataset=fx["dataset"], repos=fx["repos"], run_id="r1", out_dir=out, specs=fx["specs"], **kw)


def _hidden_in(requests: list, fx) -> list[str]:
    text = json.dumps(requests)
    hidden = ["test_sub", "sub(5, 3) == 2", fx["test_patch"].splitlines()[-1]]
    return [h for h in hidden if h in text]


def _preds(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.docker
def test_run_writes_official_predictions_and_resumes(tmp_path):
    fx = make_fixture(tmp_path / "fx", ["local__calc-1", "local__calc-2"])
    out = tmp_path / "out"
    with ScriptedServer([FIX_REPLY, FIX_REPLY]) as server:
        settings = _settings(tmp_path / "home", server.base_url)
        summary = run_instances(settings, _opts(fx, out, instances=["local__calc-1"]))
        assert len(server.requests) == 1, asked(server)
        assert PROBLEM in json.dumps(server.requests[0]) and _hidden_in(server.requests, fx) == []
        preds_path = out / "r1" / "predictions.jsonl"
        preds = _preds(preds_path)
        assert [list(p) for p in preds] == [["instance_id", "model_name_or_path", "model_patch"]]
        assert preds[0]["instance_id"] == "local__calc-1" and "-    return a + b" in preds[0]["model_patch"]
        assert preds[0]["model_name_or_path"].startswith("patchwright__")
        info = summary.instances["local__calc-1"]
        assert info["status"] == "fixed" and info["usage"]["calls"] == 1
        run_dir = out / "r1" / "runs" / "local__calc-1"
        assert (run_dir / "trajectory.jsonl").is_file() and (run_dir / "report.json").is_file()
        # verify ran the repository's existing tests in the spec's environment, not the hidden one
        log = (run_dir / "tests" / "before.log").read_text()
        assert "tests/test_ops.py" in log and "test_sub" not in log
        totals = json.loads((out / "r1" / "summary.json").read_text())["totals"]
        assert totals["calls"] == 1 and totals["prompt_tokens"] > 0

        # Resumed over both instances: only the new one reaches the model.
        run_instances(settings, _opts(fx, out, verify="none"))
        assert len(server.requests) == 2
        assert [p["instance_id"] for p in _preds(preds_path)] == ["local__calc-1", "local__calc-2"]


def test_run_verify_none_redo_and_oracles(tmp_path):
    fx = make_fixture(tmp_path / "fx")
    out = tmp_path / "out"
    with ScriptedServer([FIX_REPLY, FIX_REPLY]) as server:
        settings = _settings(tmp_path / "home", server.base_url)
        run_instances(settings, _opts(fx, out, verify="none"))
        run_instances(settings, _opts(fx, out, verify="none"))            # done: skipped
        assert len(server.requests) == 1
        run_instances(settings, _opts(fx, out, verify="none", redo=True))  # --redo: runs again, one line kept
        assert len(server.requests) == 2 and _hidden_in(server.requests, fx) == []
    assert len(_preds(out / "r1" / "predictions.jsonl")) == 1
    gold = RunOptions(dataset=fx["dataset"], run_id="g", out_dir=out, oracle="gold")
    run_instances(settings, gold)
    (pred,) = _preds(out / "g" / "predictions.jsonl")
    assert pred["model_name_or_path"] == "oracle-gold" and pred["model_patch"] == fx["gold"]


def _output_of(proc: subprocess.Popen) -> str:
    """The output of a process stopped for it (an assertion message)."""
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out[-6000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed (scripts/setup.sh installs it)")
def test_queue_through_redis_to_a_worker_process(tmp_path):
    from agent.swebench.queue import enqueue_run

    fx = make_fixture(tmp_path / "fx")
    port = _free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
        url = f"redis://127.0.0.1:{port}/0"
        with ScriptedServer([FIX_REPLY]) as server:
            env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHWRIGHT_")}
            env.update(PATCHWRIGHT_HOME=str(tmp_path / "worker-home"), PATCHWRIGHT_MODEL__BASE_URL=server.base_url,
                       PATCHWRIGHT_MODEL__MAX_RETRIES="0", PATCHWRIGHT_MODEL__TIMEOUT="120")
            worker = subprocess.Popen([sys.executable, "-m", "agent.cli", "swebench", "worker", "--queue", url], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            settings = _settings(tmp_path / "home", server.base_url)
            done = {}

            def enqueue():
                try:
                    done["s"] = enqueue_run(settings, _opts(fx, tmp_path / "out", verify="none"), url)
                except Exception as e:  # surfaced below rather than lost in the thread
                    done["error"] = e

            t = threading.Thread(target=enqueue)
            t.start()
            t.join(timeout=240)
            assert not t.is_alive(), "no result came back from the worker"
            assert "error" not in done, done.get("error")
            assert len(server.requests) == 1, asked(server) + "\n" + _output_of(worker)
            assert _hidden_in(server.requests, fx) == []
        (pred,) = _preds(tmp_path / "out" / "r1" / "predictions.jsonl")
        assert pred["instance_id"] == "local__calc-1" and "+    return a - b" in pred["model_patch"]
        assert done["s"].instances["local__calc-1"]["status"] == "fixed"
    finally:
        for proc in (worker, redis):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
