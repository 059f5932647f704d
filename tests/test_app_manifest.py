"""The App manifest in .github/ asks GitHub for exactly what the bot uses, in GitHub's own terms
(the permission names and levels of the OpenAPI description, events that GitHub sends)."""
from __future__ import annotations

import json

from github_fake.npm_assets import asset, openapi_path
from github_fake.openapi import OpenAPI
from pipeline_support import ROOT

MANIFEST = json.loads((ROOT / ".github" / "app-manifest.json").read_text())


def test_permissions_are_valid_github_app_permissions():
    spec = OpenAPI.load(openapi_path())
    schema = spec.resolve(spec.doc["components"]["schemas"]["app-permissions"])
    assert spec.check_value("default_permissions", schema, MANIFEST["default_permissions"]) == []
    assert MANIFEST["default_permissions"] == {"issues": "write", "pull_requests": "write",
                                               "contents": "write", "metadata": "read"}


def test_events_are_webhooks_github_sends_and_reach_our_endpoint():
    known = {entry["name"] for entry in json.loads(asset("@octokit/webhooks-examples", "api.github.com/index.json").read_text())}
    assert set(MANIFEST["default_events"]) == {"issues", "issue_comment"} <= known
    assert MANIFEST["hook_attributes"]["url"].endswith("/webhook") and MANIFEST["hook_attributes"]["active"]
