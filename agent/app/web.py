"""The app's web page: every job with its status, and per run the diff, the test evidence and the
trajectory. Read-only, from the job store and the run directories; no secrets are shown (none
are stored there)."""
from __future__ import annotations

import json
import re
import time
from dataclasses import asdict
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from agent.app.jobs import JobStore

_RUN_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"]))
_env.filters["ago"] = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else ""


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
        run_dir = runs_dir / run_id
        if not _RUN_ID.match(run_id) or not (run_dir / "run.json").is_file():
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
