"""Workers against the local GitHub, without running a fix: who may start a run, GitHub's rate
limits and 5xx answers, jobs that outlive their worker or the server, and the Redis queue."""
from __future__ import annotations

import pickle
import signal
import socket
import subprocess
import time

import pytest
import requests

from agent.app.queue import JobQueue
from agent.app.server import BackgroundServer
from agent.app.webhook import create_app
from agent.app.worker import Worker
from agent.swebench.queue import make_huey, register
from app_support import (READER, REPO, bot_comments, commented, deliver, env_for, free_port, github,  # noqa: F401
                         labeled, redis_url, settings_for, wait_for)
from pipeline_support import ROOT, cli
from tools.forge.github_forge import MARKER


def drain(worker: Worker, kinds=("intake",)) -> list[tuple[str, int]]:
    """Run the queued tasks of `kinds` as a worker thread would; return every task taken off the queue."""
    taken = []
    while (task := worker.queue.huey.dequeue()) is not None:
        taken.append((task.name, task.args[0] if task.args else None))
        if task.name in kinds:
            worker.queue.huey.execute(task)
    return taken


@pytest.fixture
def setup(tmp_path, github):
    settings = settings_for(tmp_path / "home", github)
    with BackgroundServer(create_app(settings)) as server:
        yield server, Worker(settings), github, settings


def test_sender_without_write_permission_gets_an_answer_and_nothing_starts(setup):
    server, worker, fake, settings = setup
    job_id = deliver(server.url, "issues", labeled(sender=READER)).json()["job"]
    assert drain(worker) == [("intake", job_id)]  # and no run was queued
    [comment] = bot_comments(fake)
    assert comment["body"].startswith(f"@{READER} ") and "write access" in comment["body"]
    assert MARKER not in comment["body"]
    job = worker.store.get(job_id)
    assert job.state == "refused" and READER in job.reason
    assert not settings.runs_dir.exists()
    assert fake.world.repos[REPO].branches().keys() == {"main"} and fake.world.repos[REPO].pulls == {}


def test_a_refused_user_is_answered_once_per_issue(setup):
    server, worker, fake, _ = setup
    by_comment = commented("/patchwright fix")
    by_comment["issue"]["number"], by_comment["sender"] = 1, labeled(sender=READER)["sender"]
    asks = []
    for event, payload in [("issues", labeled(sender=READER)), ("issue_comment", by_comment),
                           ("issues", labeled(sender=READER))]:  # each a new job: the one before was refused
        asks.append(deliver(server.url, event, payload).json()["job"])
        drain(worker)
    jobs = [worker.store.get(j) for j in asks]
    assert [j.state for j in jobs] == ["refused"] * 3 and len(set(asks)) == 3
    [comment] = bot_comments(fake)
    assert comment["body"].startswith(f"@{READER} ")
    assert [("told before" in j.reason) for j in jobs] == [False, True, True]  # recorded, not answered
    # The same user on another issue is answered there.
    fake.world.add_issue(REPO, 2, "another", "body")
    other = labeled(sender=READER)
    other["issue"]["number"] = 2
    deliver(server.url, "issues", other)
    drain(worker)
    assert len(bot_comments(fake)) == 2


class _Canary:
    """Unpickling this creates the file at `path`: what a planted pickle could do in a worker."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_planted_in_the_queue_is_never_loaded(setup, tmp_path, caplog):
    server, worker, fake, _ = setup
    canary = tmp_path / "canary"
    worker.queue.huey.storage.enqueue(pickle.dumps(_Canary(canary)))
    worker.queue.huey.storage.enqueue(b'{"task": {"id": "x", "name": "intake", "args": "1; rm -rf /"}}')
    job_id = deliver(server.url, "issues", labeled(sender=READER)).json()["job"]
    assert worker.queue.pending() == {("intake", job_id)}  # the planted ones are not listed as jobs either
    assert drain(worker) == [("intake", job_id)]  # the planted messages were dropped; the real job ran
    assert not canary.exists()
    assert worker.store.get(job_id).state == "refused" and len(bot_comments(fake)) == 1
    assert "dropped a queue message" in caplog.text
    # The SWE-bench queue, and results read back by the process that enqueued, are JSON too.
    huey = make_huey(f"sqlite:///{tmp_path / 'swebench.sqlite'}")
    register(huey)
    huey.storage.enqueue(pickle.dumps(_Canary(canary)))
    assert huey.dequeue() is None
    huey.storage.put_data("planted", pickle.dumps(_Canary(canary)))
    with pytest.raises(ValueError, match="not JSON"):
        huey.get("planted")
    assert not canary.exists()


def test_a_pickle_planted_in_redis_is_never_loaded_by_a_worker_process(tmp_path, github, redis_url):
    canary = tmp_path / "canary"
    settings = settings_for(tmp_path / "home", github, redis_url=redis_url)
    JobQueue(settings).huey.storage.enqueue(pickle.dumps(_Canary(canary)))
    with BackgroundServer(create_app(settings)) as server:
        assert deliver(server.url, "issues", labeled(sender=READER)).status_code == 202
        worker = subprocess.Popen(cli("worker"), cwd=ROOT, env=env_for(tmp_path / "home", github, redis_url=redis_url),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: bot_comments(github), 60, "the worker to answer the real job", worker)
        finally:
            worker.terminate()
            _, log = worker.communicate(timeout=30)
    assert not canary.exists()
    assert "dropped a queue message that is not patchwright's JSON" in log


def test_status_comment_survives_rate_limits_and_server_errors(setup):
    server, worker, fake, _ = setup
    fake.rate_limit_next("GET", r"/collaborators/Codertocat/permission$")
    fake.fail_next("GET", r"/issues/1$", 429, headers={"Retry-After": "1"}, message="secondary rate limit")
    fake.fail_next("POST", r"/issues/1/comments$", 502, times=2)
    job_id = deliver(server.url, "issues", labeled()).json()["job"]
    started = time.monotonic()
    assert drain(worker) == [("intake", job_id), ("run", job_id)]
    assert time.monotonic() - started >= 1.0  # it waited as GitHub asked
    [comment] = bot_comments(fake)  # retried, yet posted once
    assert MARKER in comment["body"] and "queued" in comment["body"]
    assert [r["status"] for r in fake.calls("GET", r"/collaborators/Codertocat/permission$")] == [403, 200]
    assert [r["status"] for r in fake.calls("GET", r"/issues/1$")] == [429, 200]
    assert [r["status"] for r in fake.calls("POST", r"/issues/1/comments$")] == [502, 502, 201]
    job = worker.store.get(job_id)
    assert job.state == "queued" and job.comment_id == comment["id"]


def test_jobs_of_dead_workers_go_back_to_the_queue(setup, tmp_path):
    server, worker, fake, _ = setup
    dead = subprocess.Popen(["true"])
    dead.wait()
    ids = [deliver(server.url, "issues", {**labeled(), "issue": {**labeled()["issue"], "number": n}}).json()["job"]
           for n in (1, 2, 3)]
    drain(worker, kinds=())  # take the intake messages away, as a crashed worker would have
    host = socket.gethostname()
    owners = {ids[0]: f"{host}:{dead.pid}:1",             # this host, process gone
              ids[1]: worker.me,                          # this host, alive
              ids[2]: "elsewhere:1:1"}                    # another host, heartbeat fresh
    for job_id, owner in owners.items():
        worker.store.update(job_id, state="running", owner=owner, heartbeat=time.time())
    assert worker.recover() == 1
    assert worker.queue.pending() == {("run", ids[0])}
    assert [worker.store.get(i).state for i in ids] == ["queued", "running", "running"]
    assert worker.recover() == 0  # its message is already waiting: no duplicate
    worker.store.update(ids[2], heartbeat=time.time() - worker.cfg.lease_seconds - 1)
    assert worker.recover() == 1 and worker.store.get(ids[2]).state == "queued"


def test_a_job_that_keeps_dying_is_given_up_and_the_issue_is_told(setup):
    server, worker, fake, _ = setup
    job_id = deliver(server.url, "issues", labeled()).json()["job"]
    assert drain(worker) == [("intake", job_id), ("run", job_id)]  # the status comment says queued
    worker.store.update(job_id, attempts=worker.cfg.max_job_attempts)  # as if it had died that often
    worker.queue.enqueue("run", job_id)
    assert drain(worker, kinds=("run",)) == [("run", job_id)]
    job = worker.store.get(job_id)
    assert job.state == "failed" and "never finished" in job.reason
    [comment] = bot_comments(fake)
    assert "failed" in comment["body"] and "never finished" in comment["body"]
    assert not worker.settings.runs_dir.exists()  # no run was started


def test_jobs_and_deliveries_survive_a_server_restart(tmp_path, github):
    env = env_for(tmp_path / "home", github)
    port = free_port()

    def start():
        proc = subprocess.Popen(cli("app", "serve", "--port", str(port)), cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 60, "the app server", proc)
        return proc

    url = f"http://127.0.0.1:{port}"
    server = start()
    first = deliver(url, "issues", labeled(), delivery="delivery-1")
    assert first.status_code == 202
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)
    server = start()
    try:
        again = deliver(url, "issues", labeled(), delivery="delivery-1")
        assert again.json() == {"outcome": "duplicate delivery", "job": first.json()["job"]}
        jobs = requests.get(f"{url}/api/jobs", timeout=5).json()
        assert [(j["id"], j["state"]) for j in jobs] == [(first.json()["job"], "received")]
    finally:
        server.terminate()
        server.wait(timeout=10)
    worker = Worker(settings_for(tmp_path / "home", github))
    assert worker.queue.pending() == {("intake", first.json()["job"])}  # the queued message is still there


def test_redis_queue_carries_jobs_to_a_worker_process(tmp_path, github, redis_url):
    import redis

    queued = redis.Redis.from_url(redis_url)
    settings = settings_for(tmp_path / "home", github, redis_url=redis_url)
    with BackgroundServer(create_app(settings)) as server:
        r = deliver(server.url, "issues", labeled(sender=READER), delivery="redis-1")
        assert r.status_code == 202
        assert deliver(server.url, "issues", labeled(sender=READER), delivery="redis-1").json()["outcome"] == "duplicate delivery"
        [key] = queued.keys("huey.*")
        assert queued.llen(key) == 1  # the job's message waits in Redis, not in SQLite
        assert not (settings.home_dir / "app" / "queue.sqlite").exists()
        worker = subprocess.Popen(cli("worker"), cwd=ROOT, env=env_for(tmp_path / "home", github, redis_url=redis_url),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: bot_comments(github), 60, "the worker's answer on the issue", worker)
            jobs = wait_for(lambda: [j for j in requests.get(f"{server.url}/api/jobs", timeout=5).json()
                                     if j["state"] == "refused"], 30, "the job to end", worker)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert len(jobs) == 1 and len(bot_comments(github)) == 1
    assert queued.llen(key) == 0


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_failed_run_opens_no_pull_request_and_the_comment_says_why(setup):
    server, worker, fake, settings = setup  # its model endpoint does not answer
    job_id = deliver(server.url, "issues", labeled()).json()["job"]
    assert drain(worker, kinds=("intake", "run")) == [("intake", job_id), ("run", job_id)]
    job = worker.store.get(job_id)
    assert job.state == "failed" and "127.0.0.1:9" in job.reason
    [comment] = bot_comments(fake)
    first_line = comment["body"].replace(MARKER, "").strip().splitlines()[0]
    assert "failed" in first_line and "127.0.0.1:9" in first_line
    assert fake.world.repos[REPO].pulls == {} and fake.world.repos[REPO].branches().keys() == {"main"}
    assert (settings.runs_dir / job.run_id / "report.json").exists()  # the run is kept, with its report


def test_pull_request_shows_the_reproduction_and_why_this_candidate(tmp_path, github):
    """A run with a reproduction test and two candidates, through the worker to the local GitHub:
    the PR body carries the test failing before and passing after, the candidates and the spend."""
    from agent.config import RunConfig
    from agent.models import ScriptedModel
    from sandbox.scripted import ScriptedSandbox
    from test_candidates import REPRO_FAILS, REPRO_PASSES, REPRODUCE_REPLY, TEST_PATH
    from pipeline_support import AFTER, BEFORE, FIX_REPLY, WRONG_REPLY, run_result

    still_failing = run_result(["tests/test_numbers.py::test_clamp_limits_values_outside_the_range"])
    settings = settings_for(tmp_path / "home", github).model_copy(
        update={"run": RunConfig(reproduce=True, samples=2, max_attempts=1)})
    model = ScriptedModel([REPRODUCE_REPLY, FIX_REPLY, WRONG_REPLY])
    # The reproduction on the base, the tests before, then each candidate's tests and reproduction.
    sandbox = ScriptedSandbox([r.result() for r in (REPRO_FAILS, BEFORE, AFTER, REPRO_PASSES, still_failing,
                                                    REPRO_FAILS)])
    with BackgroundServer(create_app(settings)) as server:
        worker = Worker(settings, model=model, sandbox=sandbox)
        job_id = deliver(server.url, "issues", labeled()).json()["job"]
        drain(worker, kinds=("intake", "run"))
    job = worker.store.get(job_id)
    assert job.state == "done", job.reason
    [pr] = github.world.repos[REPO].pulls.values()
    body = pr["body"]
    assert "## Reproduction" in body and f"reproduced by `{TEST_PATH}`" in body
    assert "with the fix: passes; the test is part of the patch" in body
    assert "Output on the base commit:" in body and "AssertionError" in body  # failing before
    assert "## Candidates" in body and "2 candidate patches were tried (2 distinct and applicable)" in body
    assert "This one is #1:" in body and "| 1 (chosen) |" in body
    assert "## Spend" in body and "Spent " in body
    [comment] = bot_comments(github)
    assert "reproduces the issue" in comment["body"] or "done" in comment["body"]
    assert "Spent " in comment["body"]  # the final status says what the run cost
