"""Secrets leave a patchwright process's initial environment (/proc/PID/environ, readable by
anything running as the same user) and still reach its settings."""
from __future__ import annotations

import subprocess

import requests

from agent import secrets
from app_support import SECRET, deliver, env_for, free_port, github, labeled, wait_for  # noqa: F401
from pipeline_support import ROOT, cli


def test_the_app_server_holds_its_webhook_secret_in_memory_only(github, tmp_path):
    env = env_for(tmp_path / "home", github)
    env["GITHUB_TOKEN"] = "ghp_from_the_environment"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(cli("app", "serve", "--port", str(port)), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: _up(url), 60, "the app server", proc)
        with open(f"/proc/{proc.pid}/environ", "rb") as f:
            environ = f.read()
        for value in (SECRET, env["PATCHWRIGHT_APP__PRIVATE_KEY"], "ghp_from_the_environment"):
            assert value.encode() not in environ
        assert b"PATCHWRIGHT_HOME=" in environ  # the rest of the environment is kept
        # The secret still reached the settings: a delivery signed with it is taken, a forged one is not.
        assert deliver(url, "issues", labeled()).status_code == 202
        assert deliver(url, "issues", labeled(), secret="wrong").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_secret_names_cover_tokens_keys_and_passwords():
    env = {"PATCHWRIGHT_APP__PRIVATE_KEY": "k", "PATCHWRIGHT_APP__WEBHOOK_SECRET": "s", "GITHUB_TOKEN": "t",
           "PATCHWRIGHT_MODEL__API_KEY": "a", "PATCHWRIGHT_HOME": "/h", "PATCHWRIGHT_APP__PORT": "1", "PATH": "/bin"}
    assert secrets.secret_names(env) == ["GITHUB_TOKEN", "PATCHWRIGHT_APP__PRIVATE_KEY", "PATCHWRIGHT_APP__WEBHOOK_SECRET",
                                         "PATCHWRIGHT_MODEL__API_KEY"]


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False
