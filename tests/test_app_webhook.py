"""The webhook endpoint over real HTTP: signatures before parsing, bodies past the size limit
refused before they are kept, what starts a job, what does not, and that the same delivery or the
same issue never makes two jobs."""
from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import requests

from agent.app.events import Ignore, Trigger, interpret
from agent.app.queue import JobQueue
from agent.app.server import BackgroundServer
from agent.app.webhook import create_app, store_for
from agent.config import ConfigError
from app_support import (REPO, commented, deliver, env_for, free_port, github, labeled, settings_for,  # noqa: F401
                         sign, wait_for)
from github_fake.npm_assets import webhook_example
from pipeline_support import ROOT, cli


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


def _memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of a process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return {k: int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM")}


def _chunked(total: int, size: int = 1 << 20):
    piece = b"[" * size  # the same bytes object each time: the client itself holds 1 MB
    for _ in range(total // size):
        yield piece


def _post_stream(url: str, headers: dict, total: int) -> int | None:
    """POST `total` bytes as a chunked body (requests sends a generator so, with no Content-Length);
    the status, or None if the server closed the connection before answering."""
    try:
        return requests.post(f"{url}/webhook", data=_chunked(total), headers=headers, timeout=120).status_code
    except requests.ConnectionError:
        return None


@pytest.fixture
def served(tmp_path, github):
    """`patchwright app serve` as its own process, so its memory is its own."""
    port = free_port()
    proc = subprocess.Popen(cli("app", "serve", "--port", str(port)), cwd=ROOT, env=env_for(tmp_path / "home", github),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url), 60, "the app server", proc)
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_unsigned_chunked_100mb_body_is_refused_without_growing_the_server(served):
    proc, url = served
    headers = {"X-GitHub-Event": "issues", "X-GitHub-Delivery": "big", "Content-Type": "application/json"}
    forged = {**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}
    for h in (headers, forged):  # warm up both paths (first request, thread pool, temp file) before measuring
        assert deliver(url, "issues", labeled(), secret=None if h is headers else "wrong").status_code == 401
    before = _memory_kib(proc.pid)
    assert _post_stream(url, forged, 100 << 20) == 413  # past the limit: refused before the signature is checked
    assert _post_stream(url, headers, 100 << 20) in (401, None)  # no signature at all: not a byte is kept
    after = _memory_kib(proc.pid)
    assert after["VmHWM"] - before["VmHWM"] < 20 * 1024, (before, after)
    assert deliver(url, "issues", labeled()).status_code == 202  # and it still serves GitHub


def test_declared_length_over_the_limit_is_refused_before_the_body_is_sent(app):
    address = urlsplit(app.url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    conn.putrequest("POST", "/webhook")
    for name, value in {"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d", "Content-Length": str(1 << 30),
                        "X-Hub-Signature-256": "sha256=" + "0" * 64}.items():
        conn.putheader(name, value)
    conn.endheaders()  # and no body: the answer must not wait for the 1 GB
    started = time.monotonic()
    response = conn.getresponse()
    assert response.status == 413 and time.monotonic() - started < 5
    conn.close()


MALFORMED = {  # id: (signed body, what the 400 says); ids, not the bodies, name the cases
    "200k-deep-array": (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),  # RecursionError: was a 500
    "100k-deep-object": (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
    "not-json": (b"not json at all", "not JSON"),
    "string": (b'"a string"', "not a JSON object"),
    "null": (b"null", "not a JSON object"),
    "invalid-utf8": (b'{"action": "labeled", "x": "\xff\xfe"}', "not JSON"),
    "utf16": ('{"action": "labeled"}'.encode("utf-16"), "not JSON"),  # GitHub sends UTF-8 only
}


@pytest.mark.parametrize("case", MALFORMED)
def test_signed_but_malformed_body_is_400(app, case):
    body, error = MALFORMED[case]
    r = deliver(app.url, "issues", None, body=body)
    assert r.status_code == 400 and error in r.json()["error"], r.text
    _nothing_started(app)


def test_signed_payload_with_fields_of_the_wrong_type_is_400(app):
    def changed(**fields):
        payload = labeled()
        for path, value in fields.items():
            *parents, leaf = path.split("__")
            node = payload
            for key in parents:
                node = node[key]
            node[leaf] = value
        return payload

    for payload in (changed(issue=[1]), changed(issue__number=10**30), changed(issue__number=1.5),
                    changed(issue__number="1"), changed(sender="Codertocat"), changed(sender__login={"a": 1}),
                    changed(repository__full_name="../../etc"), changed(label="patchwright")):
        r = deliver(app.url, "issues", payload)
        assert r.status_code == 400, (payload, r.text)
    r = deliver(app.url, "issue_comment", {**commented("/patchwright fix"), "comment": {"body": 5}})
    assert r.status_code == 400
    installation = webhook_example("installation", "created")
    installation["installation"]["id"] = 1e400  # json's Infinity: int() of it is an OverflowError
    assert deliver(app.url, "installation", None, body=json.dumps(installation).encode()).status_code == 400
    _nothing_started(app)


@pytest.mark.parametrize("comment, starts", [
    ("/patchwright fix", True),
    ("/patchwright fix please", True),
    ("/patchwright fix\tnow", True),
    ("  /patchwright fix  ", True),
    ("thanks!\r\n/patchwright fix\r\n", True),
    ("/patchwright fixme please", False),
    ("/patchwright fix-it", False),
    ("/patchwright fixed", False),
    ("/patchwright fi", False),
    ("please /patchwright fix", False),      # not at the start of a line
    ("/patchwright  fix", False),
])
def test_command_is_the_whole_word_at_the_start_of_a_line(comment, starts):
    what = interpret("issue_comment", commented(comment), "patchwright", "/patchwright fix")
    assert isinstance(what, Trigger if starts else Ignore), (comment, what)
