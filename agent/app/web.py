"""The app's web page: every job with its status, and per run the diff, the test evidence and the
trajectory. Read-only, from the job store and the run directories; no secrets are shown (none
are stored there). Every response carries SecurityHeaders: the page shows text from issues and
the model, so no script runs, nothing loads from elsewhere and no other site can frame it."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from dataclasses import asdict
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from agent.app.jobs import JobStore

# A run directory's name: no path separator, and not "." or ".." (a directory above the runs).
_RUN_ID = re.compile(r"(?!\.+\Z)[A-Za-z0-9_.-]{1,200}\Z")
_TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]))
_env.filters["ago"] = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else ""


def _style_hash() -> str:
    """CSP source for base.html's one inline <style> block, so no other inline style applies."""
    page = (_TEMPLATES / "base.html").read_text(encoding="utf-8")
    css = page.split("<style>", 1)[1].split("</style>", 1)[0]
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"


_HEADERS = [(b"content-security-policy",
             f"default-src 'none'; style-src {_style_hash()}; base-uri 'none'; "
             "form-action 'none'; frame-ancestors 'none'".encode()),
            (b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer")]


class SecurityHeaders:
    """ASGI middleware adding _HEADERS to every HTTP response (pure ASGI rather than
    @app.middleware, which would stand between the webhook and its streamed body)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _trajectory(path: Path, limit: int = 500) -> list[dict]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines()[:limit]:
        try:
            events.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by a killed run
    start = events[0]["time"] if events else 0
    for e in events:
        e["offset"] = round(e.get("time", start) - start, 2)
    return events


def _diff_lines(diff: str) -> list[tuple[str, str]]:
    kinds = []
    for line in diff.splitlines():
        kind = ("file" if line.startswith(("+++", "---", "diff ")) else "hunk" if line.startswith("@@")
                else "add" if line.startswith("+") else "del" if line.startswith("-") else "ctx")
        kinds.append((kind, line))
    return kinds


def web_router(settings, store: JobStore) -> APIRouter:
    router = APIRouter()
    runs_dir = settings.runs_dir

    @router.get("/", response_class=HTMLResponse)
    def index():
        jobs = store.jobs()
        by_run = {j.run_id for j in jobs if j.run_id}
        other = []
        if runs_dir.is_dir():
            for d in sorted(runs_dir.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)[:100]:
                if d.is_dir() and d.name not in by_run:
                    report = _read_json(d / "report.json") or {}
                    other.append({"run_id": d.name, "status": report.get("status", "running or stopped"),
                                  "reason": report.get("reason", "")})
        return _env.get_template("index.html").render(jobs=jobs, other=other, installations=store.installations())

    @router.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(run_id: str):
        if not _RUN_ID.match(run_id):
            raise HTTPException(404, "no such run")  # not echoed: it is not a run id
        run_dir = runs_dir / run_id
        if not (run_dir / "run.json").is_file():
            raise HTTPException(404, f"no run {run_id}")
        report = _read_json(run_dir / "report.json")
        evidence = _read_json(run_dir / "evidence.json") or {}
        before, after = evidence.get("tests_before") or {}, evidence.get("tests_after") or {}
        tests = [{"id": t, "before": before.get(t, "-"), "after": after.get(t, "-"),
                  "fixed": t in evidence.get("fail_to_pass", []), "broke": t in evidence.get("pass_to_fail", [])}
                 for t in sorted(set(before) | set(after))]
        diff_path = run_dir / "patch.diff"
        job = next((j for j in store.jobs() if j.run_id == run_id), None)
        return _env.get_template("run.html").render(
            run_id=run_id, report=report, job=job, tests=tests, evidence=evidence,
            diff=_diff_lines(diff_path.read_text(encoding="utf-8")) if diff_path.exists() else [],
            events=_trajectory(run_dir / "trajectory.jsonl"))

    @router.get("/api/jobs")
    def api_jobs():
        return [asdict(j) for j in store.jobs()]

    return router
