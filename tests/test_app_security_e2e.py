"""Issue 10's critical attack, end to end through the App as processes: a repository that commits
`gitdir -> .git`, an issue labelled for a fix, and a model (scripted, as the issue text could
steer a real one) whose edit adds `core.fsmonitor` to `gitdir/config`. Before the fix the
command ran on the host at the next `git add`, read the App's key from the worker's
/proc/PID/environ, and the run still opened a pull request."""
from __future__ import annotations

import os
import subprocess

import pytest
import requests

from agent.demo_run import DEMO_DIR
from agent.models import ScriptedServer
from app_support import (APP_ID, DEMO_TITLE, READER, REPO, app_key, bot_comments, deliver, env_for, free_port,
                         labeled, wait_for)
from github_fake import FakeGitHub
from github_fake.npm_assets import openapi_path
from github_fake.openapi import OpenAPI
from pipeline_support import ROOT, cli
from tools import gitsafe
from tools.git import init_repo_from_dir

IDENT = {"GIT_AUTHOR_NAME": "m", "GIT_AUTHOR_EMAIL": "m@x", "GIT_COMMITTER_NAME": "m", "GIT_COMMITTER_EMAIL": "m@x"}


@pytest.fixture
def hostile_github(tmp_path):
    seed = tmp_path / "seed"
    init_repo_from_dir(DEMO_DIR / "sample_repo", seed, message="textkit 0.1.0")
    os.symlink(".git", seed / "gitdir")
    gitsafe.run(seed, ["add", "gitdir"])
    gitsafe.run(seed, ["commit", "-q", "-m", "a harmless-looking link"], env=IDENT)
    body = "\n".join((DEMO_DIR / "issue.md").read_text().splitlines()[1:]).strip()
    with FakeGitHub(tmp_path / "github", app_id=APP_ID, app_public_key=app_key()[1],
                    openapi=OpenAPI.load(openapi_path())) as fake:
        fake.world.add_repo(REPO, seed).permissions[READER] = "read"
        fake.world.add_issue(REPO, 1, DEMO_TITLE, body, user="Codertocat")
        yield fake
        assert fake.violations == []


def _environ(pid: int) -> bytes:
    with open(f"/proc/{pid}/environ", "rb") as f:
        return f.read()


def test_symlink_into_git_through_the_app_runs_nothing_and_opens_no_pull_request(hostile_github, tmp_path):
    canary = tmp_path / "canary"
    attack = ("gitdir/config\n<<<<<<< SEARCH\n=======\n[core]\n"
              f"\tfsmonitor = sh -c 'touch {canary}; cat /proc/$PPID/environ > {canary}.env; echo'\n>>>>>>> REPLACE\n")
    home = tmp_path / "home"
    with ScriptedServer([attack] * 6) as model:
        env = env_for(home, hostile_github, model.base_url)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        procs = [subprocess.Popen(cli(*args), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for args in (("app", "serve", "--port", str(port)), ("worker",))]
        server, worker = procs
        try:
            wait_for(lambda: _up(url), 60, "the app server", server)
            key = app_key()[0].encode()
            assert key not in _environ(worker.pid) and key not in _environ(server.pid)
            job_id = deliver(url, "issues", labeled()).json()["job"]
            job = wait_for(lambda: (j := _job(url, job_id))["state"] in ("done", "failed", "refused") and j,
                           300, "the job to end", worker, interval=0.5)
            assert b"PRIVATE KEY" not in _environ(worker.pid)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)
    assert not canary.exists() and not (tmp_path / "canary.env").exists()
    assert job["state"] == "failed" and "security" in job["reason"] and "gitdir/config" in job["reason"]
    repo = hostile_github.world.repos[REPO]
    assert repo.pulls == {} and set(repo.branches()) == {"main"} and hostile_github.pushes == []
    [comment] = bot_comments(hostile_github)
    assert "security" in comment["body"]
    assert model.requests, "the model was asked: the attack went as far as the edit"


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _job(url: str, job_id: int) -> dict:
    return next(j for j in requests.get(url + "/api/jobs", timeout=5).json() if j["id"] == job_id)
