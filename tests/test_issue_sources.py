"""A GitHub issue URL as the issue source: PyGithub for real over HTTP against the local GitHub,
and `patchwright fix URL` cloning the repository over smart HTTP and fixing it in Docker."""
from __future__ import annotations

import json
import subprocess

import pytest

from agent.config import GitHubConfig
from agent.models import ScriptedServer
from app_support import DEMO_TITLE, REPO, github  # noqa: F401 - fixture
from pipeline_support import FIX_REPLY, ROOT, cli, cli_env
from tools.issue_sources import IssueError, load_issue


def test_github_issue_url_becomes_an_issue(github):
    token = github.world.issue_token(1)
    client = GitHubConfig(api_url=github.api_url, token=token).client()
    issue = load_issue(f"{github.web_url}/{REPO}/issues/1", github=client)
    assert issue.id == f"{REPO}#1" and issue.title == DEMO_TITLE
    assert "clamp(5, 0, 10)" in issue.body
    assert issue.repo.endswith("/Codertocat/Hello-World.git") and issue.base_commit is None
    with pytest.raises(IssueError, match="could not read .*issues/99"):
        load_issue(f"{github.web_url}/{REPO}/issues/99", github=client)


@pytest.mark.docker
def test_fix_from_a_github_issue_url(tmp_path, github):
    env = cli_env(tmp_path, "unused")
    with ScriptedServer([FIX_REPLY]) as model:
        env.update(PATCHWRIGHT_MODEL__BASE_URL=model.base_url, PATCHWRIGHT_GITHUB__API_URL=github.api_url,
                   GITHUB_TOKEN=github.world.issue_token(1))
        r = subprocess.run(cli("fix", f"{github.web_url}/{REPO}/issues/1", "--run-id", "gh"), cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "runs" / "gh" / "report.json").read_text())
    assert report["status"] == "fixed" and report["issue"]["id"] == f"{REPO}#1"
    assert report["issue"]["source"].endswith("/issues/1")
