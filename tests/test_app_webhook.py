"""The webhook endpoint over real HTTP: signatures before parsing, what starts a job, what does not,
and that the same delivery or the same issue never makes two jobs."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

from agent.app.queue import JobQueue
from agent.app.server import BackgroundServer
from agent.app.webhook import create_app, store_for
from agent.config import ConfigError
from app_support import REPO, commented, deliver, github, labeled, settings_for, sign  # noqa: F401 - github is a fixture
from tools.github_fake.npm_assets import webhook_example


@pytest.fixture
def app(tmp_path, github):
    settings = settings_for(tmp_path / "home", github)
    with BackgroundServer(create_app(settings)) as server:
        server.store, server.queue = store_for(settings), JobQueue(settings)
        yield server


def _nothing_started(app) -> None:
    assert app.store.jobs() == []
    assert app.queue.pending() == set()


def test_forged_or_missing_signature_is_refused_and_queues_nothing(app):
    payload = labeled()
    assert deliver(app.url, "issues", payload, secret=None).status_code == 401
    assert deliver(app.url, "issues", payload, secret="not the secret").status_code == 401
    # A valid signature of other bytes: the body was tampered with on the way.
    raw = json.dumps(payload).encode()
    tampered = raw.replace(b'"Codertocat/Hello-World"', b'"Codertocat/Other-Repo"', 1)
    r = requests.post(f"{app.url}/webhook", data=tampered, timeout=5,
                      headers={"X-GitHub-Event": "issues", "X-GitHub-Delivery": "x", "X-Hub-Signature-256": sign(raw)})
    assert r.status_code == 401
    # Invalid JSON with a bad signature is still a 401: nothing is parsed before the check.
    assert deliver(app.url, "issues", None, body=b"{not json", secret="wrong").status_code == 401
    _nothing_started(app)


def test_malformed_json_is_400(app):
    r = deliver(app.url, "issues", None, body=b'{"action": "labeled", ')
    assert r.status_code == 400 and "not JSON" in r.json()["error"]
    assert deliver(app.url, "issues", None, body=b"[1, 2]").status_code == 400
    broken = labeled()
    del broken["issue"]
    r = deliver(app.url, "issues", broken)
    assert r.status_code == 400 and "issue" in r.json()["error"]
    _nothing_started(app)


def test_events_that_ask_for_nothing_are_ignored(app):
    for event, payload in [("push", webhook_example("push")), ("star", webhook_example("star", "created")),
                           ("ping", {"zen": "Design for failure."}),
                           ("issues", webhook_example("issues", "opened")),
                           ("issues", labeled(label="bug")),                       # another label
                           ("issue_comment", commented("You are totally right!"))]:  # no command
        r = deliver(app.url, event, payload)
        assert r.status_code == 200, (event, r.text)
        assert r.json()["outcome"] == "ignored"
    _nothing_started(app)


def test_label_starts_one_job_and_duplicates_do_not_add_any(app):
    first = deliver(app.url, "issues", labeled(), delivery="d-1")
    assert first.status_code == 202 and first.json()["outcome"] == "queued"
    job_id = first.json()["job"]
    again = deliver(app.url, "issues", labeled(), delivery="d-1")  # GitHub redelivers the same delivery
    assert again.json() == {"outcome": "duplicate delivery", "job": job_id}
    # Labelling again (a new delivery) or commenting the command while the job is active: still one job.
    relabel = deliver(app.url, "issues", labeled(), delivery="d-2")
    assert relabel.json() == {"outcome": "already running", "job": job_id}
    command = deliver(app.url, "issue_comment", commented("please\n/patchwright fix\n"), delivery="d-3")
    assert command.json() == {"outcome": "already running", "job": job_id}
    [job] = app.store.jobs()
    assert (job.repo, job.number, job.sender, job.state) == (REPO, 1, "Codertocat", "received")
    assert job.installation_id is None  # the example payload has none: the worker will ask GitHub
    assert app.queue.pending() == {("intake", job_id)}


def test_comment_command_starts_a_job(app):
    r = deliver(app.url, "issue_comment", commented("/patchwright fix"))
    assert r.status_code == 202
    [job] = app.store.jobs()
    assert job.installation_id == 1 and "/patchwright fix" in job.trigger


def test_installation_event_is_recorded_without_a_job(app):
    r = deliver(app.url, "installation", webhook_example("installation", "created"))
    assert r.status_code == 200 and r.json()["outcome"] == "recorded"
    _nothing_started(app)
    assert "Codertocat (#957387): created" in requests.get(app.url + "/", timeout=5).text


def test_server_will_not_start_without_a_webhook_secret(tmp_path, github):
    settings = settings_for(tmp_path, github)
    settings.app.webhook_secret = None
    with pytest.raises(ConfigError, match="PATCHWRIGHT_APP__WEBHOOK_SECRET"):
        create_app(settings)


def test_webhook_import_path_has_no_model_or_graph_stack():
    code = ("import sys, agent.app.webhook, agent.app.server; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('langgraph', 'openai', 'langchain_core') "
            "or m in ('agent.graph', 'agent.runner', 'agent.nodes')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
