"""The queue between the webhook server and the workers: huey, on SQLite under home/app/ by
default or on Redis when `app.redis_url` is set, as JSON (agent.hueyjson: a pickle planted in
the storage is dropped, never loaded). Messages carry only a job id; the job store
holds the truth, so a message lost with a killed worker is re-sent by recovery, and a duplicate
finds the job already claimed and does nothing.

Task names must be identical in the server (which only enqueues) and the worker (which runs
them), so the tasks are fixed trampolines defined here; the worker plugs in the real handler.
"""
from __future__ import annotations

from typing import Callable

from huey import crontab

from agent.hueyjson import JSONRedisHuey, JSONSqliteHuey


def _nowhere(kind: str, job_id: int | None) -> None:
    raise RuntimeError(f"no worker handler set for {kind} job {job_id}: run `patchwright worker`")


def parse_cron(expression: str):
    """A five-field cron expression as a huey crontab; a clear error names a malformed one."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"cron expression '{expression}' needs 5 fields: minute hour day month weekday")
    minute, hour, day, month, weekday = fields
    return crontab(minute=minute, hour=hour, day=day, month=month, day_of_week=weekday)


class JobQueue:
    def __init__(self, settings):
        cfg = settings.app
        if cfg.redis_url:
            # blocking=True: workers wait on BRPOP, so pickup is immediate rather than polled.
            self.huey = JSONRedisHuey("patchwright", url=cfg.redis_url, results=False, blocking=True)
        else:
            path = settings.home_dir / "app" / "queue.sqlite"
            path.parent.mkdir(parents=True, exist_ok=True)
            self.huey = JSONSqliteHuey("patchwright", filename=str(path), results=False)
        self.poll_interval = cfg.poll_interval
        self.workers = cfg.workers
        self.handler: Callable[[str, int | None], None] = _nowhere

        def intake(job_id: int) -> None:
            self.handler("intake", job_id)

        def run(job_id: int) -> None:
            self.handler("run", job_id)

        def recover() -> None:
            self.handler("recover", None)

        self._intake = self.huey.task(name="intake")(intake)
        self._run = self.huey.task(name="run")(run)
        # Every minute: jobs of workers that died on other hosts (lease expired) go back to the queue.
        self.huey.periodic_task(crontab(minute="*"), name="recover")(recover)
        if settings.triage.schedule:
            def triage() -> None:
                self.handler("triage", None)

            self.huey.periodic_task(parse_cron(settings.triage.schedule), name="triage")(triage)

    def enqueue(self, kind: str, job_id: int) -> None:
        (self._intake if kind == "intake" else self._run)(job_id)

    def pending(self) -> set[tuple[str, int]]:
        """(kind, job id) of every message waiting in the queue."""
        return {(t.name, t.args[0]) for t in self.huey.pending() if t.args}

    def consumer(self):
        return self.huey.create_consumer(workers=self.workers, worker_type="thread", periodic=True,
                                         initial_delay=min(0.05, self.poll_interval), backoff=1.15,
                                         max_delay=self.poll_interval, check_worker_health=True)
