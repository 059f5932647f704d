"""The local GitHub is strict where GitHub is: requests that depart from GitHub's OpenAPI
description are refused (so the App tests cannot pass on requests GitHub would reject), App
credentials are checked, and git pushes need an installation token given through the credential helper."""
from __future__ import annotations

import subprocess

import jwt
import pytest
import requests

from app_support import APP_ID, REPO, app_key, github  # noqa: F401 - fixture
from tools.forge.api import github_client, installation_forge
from tools.forge.push import PushError, commit_patch, push_branch, sync_mirror


def test_requests_github_would_reject_are_refused_and_recorded(github):
    auth = {"Authorization": f"token {github.world.issue_token(1)}"}
    api = f"{github.api_url}/repos/{REPO}"
    bad = [("POST", f"{api}/issues/1/comments", {"bdy": "misspelt"}, "'body' is a required property"),
           ("POST", f"{api}/pulls", {"title": "t", "head": "x", "base": "main", "draft": "yes"}, "is not of type 'boolean'"),
           ("GET", f"{api}/pulls?state=opened", None, "is not one of"),
           ("GET", f"{api}/no-such-thing", None, "no such operation")]
    for method, url, body, why in bad:
        r = requests.request(method, url, json=body, headers=auth, timeout=5)
        assert r.status_code == 422, (url, r.text)
        assert any(why in v for v in github.violations), why
    github.violations.clear()  # seen and expected: the fixture checks that nothing else was sent


def test_app_credentials_are_checked(github):
    private, _ = app_key()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    url = f"{github.api_url}/app/installations/1/access_tokens"
    for key, iss in [(other, APP_ID), (private, APP_ID + 1)]:
        token = jwt.encode({"iss": str(iss), "iat": 0, "exp": 2**31 - 1}, key, algorithm="RS256")
        assert requests.post(url, headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 401
    assert requests.post(f"{github.api_url}/repos/{REPO}/issues/1/comments", json={"body": "hi"},
                         headers={"Authorization": "token ghs_made_up"}, timeout=5).status_code == 401


def test_pushes_need_the_installation_token_and_leave_no_trace_of_it(github, tmp_path):
    clone_url = github_client(github.api_url).get_repo(REPO).clone_url
    mirror = sync_mirror(clone_url, tmp_path / "mirror.git")  # public: anonymous clone works
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=mirror, capture_output=True, text=True).stdout.strip()
    lines = subprocess.run(["git", "show", f"{base}:README.md"], cwd=mirror, capture_output=True, text=True).stdout.splitlines()
    patch = f"--- a/README.md\n+++ b/README.md\n@@ -1,3 +1,4 @@\n {lines[0]}\n+one more line\n {lines[1]}\n {lines[2]}\n"
    sha = commit_patch(mirror, base, patch, "a change")
    with pytest.raises(PushError, match="Authentication failed"):
        push_branch(mirror, clone_url, sha, "topic", token=None)
    forge = installation_forge(github.api_url, APP_ID, app_key()[0], REPO)  # the App's: it holds the token
    forge.push_branch(mirror, sha, "topic")
    assert github.world.repos[REPO].branches()["topic"] == sha
    [token] = github.world.tokens  # the one installation token the forge was given
    for config in [mirror / "config", github.world.repos[REPO].path / "config"]:
        assert token not in config.read_text() and "x-access-token" not in config.read_text()


def test_git_gets_the_token_and_none_of_the_bots_secrets(monkeypatch, tmp_path):
    from tools.forge.push import TOKEN_VAR, git

    monkeypatch.setenv("PATCHWRIGHT_APP__PRIVATE_KEY", "-----BEGIN PRIVATE KEY----- not for git")
    env = git(["-c", "alias.showenv=!env", "showenv"], cwd=tmp_path, token="ghs_for_this_push")
    assert f"{TOKEN_VAR}=ghs_for_this_push" in env.splitlines()
    assert "PRIVATE KEY" not in env
