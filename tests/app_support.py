"""Shared pieces for the GitHub App tests: a local GitHub (tests/github_fake) holding the demo
repository as Codertocat/Hello-World with the demo issue as #1 (the repository and issue GitHub's
example webhook payloads name), the App's key pair, settings and environments for the app server
and workers, signed webhook deliveries, and a real redis-server."""
from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from agent.config import AppConfig, GitHubConfig, RunConfig, Settings
from agent.demo_run import DEMO_DIR
from agent.models import OpenAIModelConfig
from github_fake import FakeGitHub
from github_fake.npm_assets import openapi_path, webhook_example
from github_fake.openapi import OpenAPI
from tools.git import init_repo_from_dir

REPO = "Codertocat/Hello-World"
SECRET = "it's a secret to everybody"
APP_ID = 29310
READER = "octo-reader"  # a collaborator with read permission only
DEMO_TITLE = (DEMO_DIR / "issue.md").read_text().splitlines()[0].removeprefix("# ")


@functools.lru_cache(maxsize=1)
def app_key() -> tuple[str, bytes]:
    """(private PEM, public PEM) of the App: generated once per test session."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.fixture
def github(tmp_path):
    """The local GitHub with the demo repository and issue; every request must follow GitHub's
    OpenAPI description (checked again at teardown)."""
    source = tmp_path / "seed"
    init_repo_from_dir(DEMO_DIR / "sample_repo", source, message="textkit 0.1.0")
    body = "\n".join((DEMO_DIR / "issue.md").read_text().splitlines()[1:]).strip()
    with FakeGitHub(tmp_path / "github", app_id=APP_ID, app_public_key=app_key()[1],
                    openapi=OpenAPI.load(openapi_path())) as fake:
        repo = fake.world.add_repo(REPO, source)
        repo.permissions[READER] = "read"
        fake.world.add_issue(REPO, 1, DEMO_TITLE, body, user="Codertocat")
        yield fake
        assert fake.violations == [], "requests that GitHub's OpenAPI description rejects"


def settings_for(home: Path, fake: FakeGitHub, model_url: str = "http://127.0.0.1:9/v1", **app) -> Settings:
    return Settings(home=home, model=OpenAIModelConfig(base_url=model_url, max_retries=0, timeout=10.0),
                    github=GitHubConfig(api_url=fake.api_url), run=RunConfig(),
                    app=AppConfig(app_id=APP_ID, private_key=app_key()[0], webhook_secret=SECRET,
                                  poll_interval=0.2, **app))


def env_for(home: Path, fake: FakeGitHub, model_url: str = "http://127.0.0.1:9/v1", **app) -> dict:
    """The same settings as environment variables, for `patchwright app serve` / `worker` subprocesses."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHWRIGHT_")}
    env.update(PATCHWRIGHT_HOME=str(home), PATCHWRIGHT_MODEL__BASE_URL=model_url, PATCHWRIGHT_MODEL__MAX_RETRIES="0",
               PATCHWRIGHT_MODEL__TIMEOUT="10", PATCHWRIGHT_GITHUB__API_URL=fake.api_url,
               PATCHWRIGHT_APP__APP_ID=str(APP_ID), PATCHWRIGHT_APP__PRIVATE_KEY=app_key()[0],
               PATCHWRIGHT_APP__WEBHOOK_SECRET=SECRET, PATCHWRIGHT_APP__POLL_INTERVAL="0.2")
    env.update({f"PATCHWRIGHT_APP__{k.upper()}": str(v) for k, v in app.items()})
    return env


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(url: str, event: str, payload, *, delivery: str | None = None, secret: str | None = SECRET,
            body: bytes | None = None) -> requests.Response:
    """POST a webhook delivery as GitHub sends it (signed unless secret is None)."""
    raw = body if body is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event,
               "X-GitHub-Delivery": delivery or str(uuid.uuid4()), "User-Agent": "GitHub-Hookshot/test"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(raw, secret)
    return requests.post(f"{url}/webhook", data=raw, headers=headers, timeout=10)


def labeled(label: str = "patchwright", sender: str | None = None) -> dict:
    """GitHub's example issues.labeled payload, with our label (and optionally another sender)."""
    payload = copy.deepcopy(webhook_example("issues", "labeled"))
    payload["label"]["name"] = label
    payload["issue"]["labels"].append(dict(payload["label"]))
    if sender:
        payload["sender"]["login"] = sender
    return payload


def commented(body: str, index: int = 3) -> dict:
    """GitHub's example issue_comment.created payload (#3 carries an installation) with `body`."""
    payload = copy.deepcopy(webhook_example("issue_comment", "created", index))
    payload["comment"]["body"] = body
    return payload


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server (Debian's package) on a free loopback port, without persistence."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed: scripts/setup.sh installs it"
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    wait_for(lambda: _pings(client), 20, "redis-server to answer", proc)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - not up yet
        return False


def bot_comments(fake: FakeGitHub) -> list[dict]:
    return [c for c in fake.world.comments.values() if c["user"].endswith("[bot]")]
