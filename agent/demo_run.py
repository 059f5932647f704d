"""`patchwright demo`: the bundled sample repository's issue, fixed end to end.

The sample repository ships as plain files (package data) and becomes a one-commit git repository
under the home directory, so the demo runs the same workspace path as any other repository.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

from agent.config import Settings
from agent.request import RunRequest
from agent.runner import RunResult, start_run
from tools.git import init_repo_from_dir
from tools.issue_sources import load_issue_file

DEMO_DIR = Path(__file__).parent / "demo"


def prepare_sample_repo(home: Path) -> Path:
    repo = home / "demo" / "textkit"
    init_repo_from_dir(DEMO_DIR / "sample_repo", repo, message="textkit 0.1.0")
    return repo


@contextlib.contextmanager
def model_endpoint(settings: Settings, serve_model: bool):
    """Yield settings whose model answers: the configured endpoint, or the embedded CPU model
    started here when the endpoint is down and the configured profile is a CPU one."""
    model_cfg = settings.model
    if getattr(model_cfg, "type", None) != "openai" or not serve_model:
        yield settings
        return
    if model_cfg.build().check().get("reachable"):
        yield settings
        return
    from agent.models.serve import start_background, stop, wait_ready

    proc, base_url = start_background(model_cfg.profile, "127.0.0.1", 0, settings.models_dir)
    try:
        wait_ready(base_url, timeout=600, proc=proc)
        yield settings.model_copy(update={"model": model_cfg.model_copy(update={"base_url": base_url})})
    finally:
        stop(proc)


def run_demo(settings: Settings, *, serve_model: bool = True, on_update=None, **backends) -> RunResult:
    repo = prepare_sample_repo(settings.home_dir)
    with model_endpoint(settings, serve_model) as live:
        issue_file = DEMO_DIR / "issue.md"
        request = RunRequest(issue=load_issue_file(issue_file), issue_ref=str(issue_file), repo=str(repo))
        return start_run(live, request, on_update=on_update, **backends)
