"""The App end to end, as processes: `patchwright app serve` takes GitHub's labelled-issue payload,
`patchwright worker` fixes the demo issue with the scripted model and Docker tests, pushes
patchwright/issue-1 to the local GitHub's git remote and opens the draft pull request, while the
one status comment walks from queued to done. Then the same with a worker killed mid-run."""
from __future__ import annotations

import json
import signal
import subprocess

import pytest
import requests

from agent.models import ScriptedServer
from agent.app.server import BackgroundServer
from agent.app.webhook import create_app
from agent.app.worker import Worker
from app_support import (DEMO_TITLE, REPO, bot_comments, commented, deliver, env_for, free_port, github,  # noqa: F401
                         labeled, redis_url, settings_for, wait_for)
from pipeline_support import FIX_REPLY, ROOT, WRONG_REPLY, cli
from tools.forge.github_forge import MARKER

pytestmark = [pytest.mark.docker]

BRANCH = "patchwright/issue-1"


class App:
    """The server and workers as the user runs them, configured through the environment."""

    def __init__(self, home, fake, model_url, **app):
        self.env = env_for(home, fake, model_url, **app)
        self.home, self.procs = home, []
        self.url = f"http://127.0.0.1:{free_port()}"

    def start(self, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen(cli(*args), cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.procs.append(proc)
        return proc

    def serve(self) -> subprocess.Popen:
        proc = self.start("app", "serve", "--port", self.url.rsplit(":", 1)[1])
        wait_for(lambda: _get(self.url + "/healthz"), 60, "the app server", proc)
        return proc

    def job(self, job_id: int) -> dict:
        return next(j for j in requests.get(self.url + "/api/jobs", timeout=5).json() if j["id"] == job_id)

    def wait_job(self, job_id: int, worker: subprocess.Popen, timeout: float = 600) -> dict:
        return wait_for(lambda: (j := self.job(job_id))["state"] in ("done", "failed", "refused") and j,
                        timeout, f"job {job_id} to finish", worker, interval=0.5)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.fixture
def app_factory(tmp_path):
    apps = []

    def make(fake, model_url, **cfg):
        apps.append(App(tmp_path / "home", fake, model_url, **cfg))
        return apps[-1]

    yield make
    for app in apps:
        app.close()


def _get(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _git(repo, *args) -> str:
    return subprocess.run(["git", *args], cwd=repo.path, capture_output=True, text=True, check=True).stdout.strip()


def _stages(comment: dict) -> list[str]:
    """Each status the comment showed, in order (from the fake's edit history)."""
    out = []
    for body in [*comment["edits"], comment["body"]]:
        line = body.replace(MARKER, "").strip().splitlines()[0]
        stage = next(s for s in ("queued", "localizing", "patching", "testing", "done", "failed") if s in line)
        if not out or out[-1] != stage:
            out.append(stage)
    return out


def _started(trajectory) -> list[str]:
    """Nodes started so far, read while the run may be writing (a torn last line is skipped)."""
    nodes = []
    for line in trajectory.read_text().splitlines() if trajectory.exists() else []:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("type") == "node_start":
            nodes.append(event["node"])
    return nodes


def _assert_no_token_on_disk(home, fake) -> None:
    tokens = [t.encode() for t in fake.world.tokens]
    assert tokens, "the worker never asked for an installation token"
    for path in home.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            assert not any(t in data for t in tokens), f"an installation token was written to {path}"


@pytest.mark.parametrize("queue", ["sqlite", "redis"])
def test_labelled_issue_becomes_a_draft_pull_request(github, app_factory, request, queue, tmp_path):
    extra = {"redis_url": request.getfixturevalue("redis_url")} if queue == "redis" else {}
    with ScriptedServer([FIX_REPLY, FIX_REPLY]) as model:
        app = app_factory(github, model.base_url, public_url="http://patchwright.example", **extra)
        app.serve()
        worker = app.start("worker")
        job_id = deliver(app.url, "issues", labeled()).json()["job"]
        job = app.wait_job(job_id, worker)
        assert job["state"] == "done", job["reason"]

        run_dir = app.home / "runs" / job["run_id"]
        report = json.loads((run_dir / "report.json").read_text())
        fixed = report["tests"]["fail_to_pass"]
        assert fixed, "the demo bug is proven by tests failing before the patch"

        repo = github.world.repos[REPO]
        branches = repo.branches()
        assert set(branches) == {"main", BRANCH}
        assert _git(repo, "rev-parse", f"{BRANCH}^") == branches["main"]  # one commit on top of main
        added = [line for line in (run_dir / "patch.diff").read_text().splitlines()
                 if line.startswith("+") and not line.startswith("+++")]
        assert added and set(added) <= set(_git(repo, "diff", "main", BRANCH).splitlines())  # the run's patch
        assert github.pushes == [{"repo": REPO, "installation": 1}]

        [pr] = repo.pulls.values()
        assert pr["draft"] is True and (pr["head"], pr["base"]) == (BRANCH, "main")
        assert pr["title"] == f"Fix #1: {DEMO_TITLE}"
        body = pr["body"]
        assert "Closes #1" in body and f"{github.web_url}/{REPO}/issues/1" in body
        assert all(f"| `{test}` | failed | passed |" in body for test in fixed)
        assert all(f"- `{path}`" in body for path in report["files_changed"])
        assert "Regressions: none. All 5 tests that passed before the patch pass with it." in body
        assert "## Spend" in body and "1 model call(s)" in body and "Spent " in body
        assert job["pr_url"] == f"{github.web_url}/{REPO}/pull/{pr['number']}"

        [comment] = bot_comments(github)
        assert _stages(comment) == ["queued", "localizing", "patching", "testing", "done"]
        assert job["pr_url"] in comment["body"] and f"http://patchwright.example/runs/{job['run_id']}" in comment["body"]

        page = requests.get(app.url + "/", timeout=5).text
        assert job["run_id"] in page and "Codertocat/Hello-World#1" in page
        run_page = requests.get(f"{app.url}/runs/{job['run_id']}", timeout=5).text
        assert '<span class="add">' in run_page and f"<b>{fixed[0]}</b> (fails before, passes after)" in run_page

        if queue == "sqlite":  # asked again: the same branch and pull request are updated
            again = deliver(app.url, "issue_comment", commented("/patchwright fix"))
            assert again.status_code == 202
            second = app.wait_job(again.json()["job"], worker)
            assert second["state"] == "done" and second["run_id"] != job["run_id"]
            assert len(repo.pulls) == 1 and second["run_id"] in repo.pulls[pr["number"]]["body"]
            assert len(bot_comments(github)) == 1 and len(github.pushes) == 2
            assert set(repo.branches()) == {"main", BRANCH}
    _assert_no_token_on_disk(app.home, github)


def test_worker_killed_mid_run_is_finished_by_the_next_worker(github, app_factory):
    with ScriptedServer([FIX_REPLY]) as model:
        app = app_factory(github, model.base_url)
        app.serve()
        first = app.start("worker")
        job_id = deliver(app.url, "issues", labeled()).json()["job"]
        run_id = wait_for(lambda: app.job(job_id)["run_id"], 120, "the run to start", first)
        trajectory = app.home / "runs" / run_id / "trajectory.jsonl"

        wait_for(lambda: "verify" in _started(trajectory), 300, "the run to reach verify", first)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert app.job(job_id)["state"] == "running"  # the dead worker still holds it
        assert not (app.home / "runs" / run_id / "report.json").exists()

        second = app.start("worker")
        job = app.wait_job(job_id, second)
    assert job["state"] == "done", job["reason"]
    assert job["attempts"] == 2
    repo = github.world.repos[REPO]
    assert set(repo.branches()) == {"main", BRANCH} and len(repo.pulls) == 1 and len(github.pushes) == 1
    [comment] = bot_comments(github)
    assert _stages(comment)[-1] == "done"
    assert len(model.requests) == 1  # resumed from the checkpoint: the model was not asked again
    started = _started(trajectory)
    assert started.count("patch") == 1 and started.count("verify") == 2


def test_unfixed_issue_gets_no_pull_request_and_the_comment_says_why(github, tmp_path):
    with ScriptedServer([WRONG_REPLY]) as model:
        settings = settings_for(tmp_path / "home", github, model.base_url)
        settings.run.max_attempts = 1
        worker = Worker(settings)
        with BackgroundServer(create_app(settings)) as server:
            job_id = deliver(server.url, "issues", labeled()).json()["job"]
            while (task := worker.queue.huey.dequeue()) is not None:  # what a worker thread does
                worker.queue.huey.execute(task)
    job = worker.store.get(job_id)
    assert job.state == "failed" and "gave up after 1 attempt(s)" in job.reason and "failing" in job.reason
    [comment] = bot_comments(github)
    assert _stages(comment) == ["queued", "localizing", "patching", "testing", "failed"]
    assert job.reason in comment["body"]
    repo = github.world.repos[REPO]
    assert repo.pulls == {} and set(repo.branches()) == {"main"} and github.pushes == []
