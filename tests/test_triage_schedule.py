"""Scheduled triage for App deployments: a cron expression in config becomes a huey periodic task
that the worker runs against the configured repositories."""
from __future__ import annotations

import datetime

import pytest

from agent.app.queue import JobQueue, parse_cron
from agent.config import Settings, TriageConfig


def test_cron_expression_fires_when_it_says():
    monday_six = parse_cron("0 6 * * 1")
    assert monday_six(datetime.datetime(2026, 11, 30, 6, 0))       # a Monday, 06:00
    assert not monday_six(datetime.datetime(2026, 11, 30, 7, 0))
    assert not monday_six(datetime.datetime(2026, 12, 1, 6, 0))    # a Tuesday
    with pytest.raises(ValueError, match="needs 5 fields"):
        parse_cron("every monday")


def test_worker_queue_runs_triage_on_schedule(tmp_path):
    settings = Settings(home=tmp_path, triage=TriageConfig(schedule="*/15 * * * *", repos=["o/r"]))
    queue = JobQueue(settings)
    seen = []
    queue.handler = lambda kind, job_id: seen.append(kind)
    due = [t for t in queue.huey.read_periodic(datetime.datetime(2026, 11, 27, 9, 30))]
    assert "triage" in {t.name for t in due}
    for task in due:
        queue.huey.execute(task)
    assert "triage" in seen
    unscheduled = JobQueue(Settings(home=tmp_path / "other"))
    assert "triage" not in {t.name for t in unscheduled.huey.read_periodic(datetime.datetime(2026, 11, 27, 9, 30))}
