"""The local GitHub seeded with the triage backlog fixture (tests/fixtures/triage_backlog.json),
and settings pointing at it. Shared by tests/test_triage.py and benchmarks/triage.py."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

from agent.config import AppConfig, GitHubConfig, Settings, TriageConfig
from agent.demo_run import DEMO_DIR
from agent.models import OpenAIModelConfig
from github_fake import FakeGitHub
from github_fake.npm_assets import openapi_path
from github_fake.openapi import OpenAPI
from tools.git import init_repo_from_dir

FIXTURE = Path(__file__).parent / "fixtures" / "triage_backlog.json"
WRITES = ("POST", "PATCH", "PUT", "DELETE")
DEAD_MODEL = "http://127.0.0.1:9/v1"


def backlog() -> dict:
    return json.loads(FIXTURE.read_text())


@contextlib.contextmanager
def seeded_github(root: Path, issues: list[dict], repo: str, check_openapi: bool = True):
    """A started FakeGitHub holding `repo` with `issues`; yields (fake, installation token)."""
    source = root / "seed"
    init_repo_from_dir(DEMO_DIR / "sample_repo", source, message="seed")
    with FakeGitHub(root / "github", app_id=1, app_public_key=b"unused",
                    openapi=OpenAPI.load(openapi_path()) if check_openapi else None) as fake:
        fake.world.add_repo(repo, source, installation_id=1)
        for i in issues:
            fake.world.add_issue(repo, i["number"], i["title"], i["body"], state=i["state"])
        yield fake, fake.world.issue_token(1)


def writes(fake) -> list[dict]:
    return [r for r in fake.requests if r["method"] in WRITES]


def triage_settings(home: Path, fake, token: str, model_url: str = DEAD_MODEL, **triage) -> Settings:
    return Settings(home=home, model=OpenAIModelConfig(base_url=model_url, max_retries=0, timeout=10.0),
                    github=GitHubConfig(api_url=fake.api_url, token=token),
                    app=AppConfig(github_retries=1),
                    triage=TriageConfig(**{"seconds_between_writes": 0.0, "seconds_between_requests": 0.0, **triage}))


def replies_for(issues: list[dict]) -> list[str]:
    """Scripted model answers in the order triage asks (open issues, newest first), in mixed but
    valid formats; issue 31's answer is ambiguous prose, which strict parsing must reject."""
    styles = ["{}", "Label: {}", "`{}`.", "{}\n", "**{}**"]
    out = []
    for k, i in enumerate(sorted((i for i in issues if i["state"] == "open"), key=lambda i: -i["number"])):
        out.append("It is either a question or a bug." if i["number"] == 31 else styles[k % len(styles)].format(i["expected_label"]))
    return out
