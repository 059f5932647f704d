"""`patchwright worker`: take jobs from the queue and see them through on GitHub.

intake: check that the sender may write to the repository (if not, refuse with a short comment,
        once per user and issue),
        post the status comment at "queued", and queue the run.
run:    read the issue through the API, mirror the repository with the installation token, fix it
        with the graph (resuming the job's run from its checkpoint if a worker died mid-run),
        then push the branch and open or update the draft pull request, editing the status
        comment at each stage.

Everything on GitHub goes through the job's forge (tools/forge/base.py `Forge`, made by
tools/forge/api.py `installation_forge`). The installation token lives only inside that forge, in
this process: it reaches git through the credential helper's environment and never enters the run
state, the run directory, a container or a `.git/config`.
"""
from __future__ import annotations

import json
import logging
import threading
from contextlib import contextmanager

from agent.app.jobs import Job, JobStore, this_process
from agent.app.publish import publish
from agent.app.queue import JobQueue
from agent.app.status import StageTracker, refusal_text, status_text
from agent.app.webhook import store_for
from agent.config import Settings
from agent.report import spend_line
from tools.forge.api import installation_forge, retry_policy
from tools.forge.base import Forge, StatusComment

log = logging.getLogger("patchwright.worker")


class Worker:
    def __init__(self, settings: Settings, *, store: JobStore | None = None, queue: JobQueue | None = None, **backends):
        self.settings, self.cfg = settings, settings.app
        self.store = store or store_for(settings)
        self.queue = queue or JobQueue(settings)
        self.queue.handler = self.handle
        self.me = this_process()
        self.backends = backends  # model= / sandbox= overrides, as for start_run

    def handle(self, kind: str, job_id: int | None) -> None:
        if kind == "intake":
            self.intake(job_id)
        elif kind == "run":
            self.run(job_id)
        elif kind == "triage":
            self.triage()
        else:
            self.recover()

    def triage(self) -> None:
        """The scheduled backlog triage: every configured repository, labels and comments applied."""
        from agent.triage import run_triage

        for repo_name in self.settings.triage.repos:
            run_triage(self.settings, repo_name, apply=True)

    def recover(self) -> int:
        """Requeue every job that waits for a worker but has no queue message (its worker died,
        or the server stopped between recording and enqueueing it). Returns how many."""
        waiting = self.store.recover(self.cfg.lease_seconds)
        pending = self.queue.pending()
        sent = 0
        for job in waiting:
            kind = "intake" if job.state == "received" else "run"
            if (kind, job.id) not in pending:
                self.queue.enqueue(kind, job.id)
                sent += 1
        if sent:
            log.info("recovered %d job(s)", sent)
        return sent

    def forge(self, job: Job) -> Forge:
        retry = retry_policy(self.cfg.github_retries, self.cfg.max_rate_limit_wait)
        return installation_forge(self.settings.github.api_url, self.cfg.app_id, self.cfg.key(), job.repo,
                                  job.installation_id, retry)

    def run_url(self, run_id: str | None) -> str:
        return f"{self.cfg.public_url.rstrip('/')}/runs/{run_id}" if self.cfg.public_url and run_id else ""

    def intake(self, job_id: int) -> None:
        job = self.store.claim(job_id, self.me, "received", "intake", self.cfg.max_job_attempts)
        if job is None:
            return  # another worker has it, or it is finished
        try:
            forge = self.forge(job)
            if not forge.can_write(job.sender):
                # One answer per user and issue: asking again must not make the bot post again.
                told = self.store.refused_before(job.repo, job.number, job.sender)
                if not told:
                    forge.comment(job.number, refusal_text(job.sender, self.cfg.command, self.cfg.label))
                asks = self.store.record_refusal(job.repo, job.number, job.sender)
                log.info("job %s refused: %s may not write to %s (ask %d)", job_id, job.sender, job.repo, asks)
                self.store.update(job_id, state="refused", status="refused", owner=None,
                                  reason=f"{job.sender} has no write permission" + (" (told before)" if told else ""))
                return
            comment = forge.status_comment(job.number)
            comment.show(status_text("queued", f"started by {job.trigger}"))
            self.store.update(job_id, state="queued", status="queued", comment_id=comment.id, owner=None)
            self.queue.enqueue("run", job_id)
        except Exception as e:  # noqa: BLE001 - the job must end in a state a person can read
            log.exception("intake of job %s failed", job_id)
            self.store.update(job_id, state="failed", status="failed", owner=None, reason=f"intake failed: {e}")

    def run(self, job_id: int) -> None:
        job = self.store.claim(job_id, self.me, "queued", "running", self.cfg.max_job_attempts)
        if job is None:
            return
        if job.state == "failed":  # given up: it kept taking its worker down
            self._say_failed(job)
            return
        with self._heartbeat(job_id):
            comment = None
            try:
                forge = self.forge(job)
                comment = forge.status_comment(job.number, job.comment_id)
                state, reason, pr_url = self._fix(job, forge, comment)
            except Exception as e:  # noqa: BLE001
                log.exception("job %s failed", job_id)
                state, reason, pr_url = "failed", f"{type(e).__name__}: {e}", ""
            run_id = self.store.get(job_id).run_id
            if comment is not None:
                try:
                    comment.show(status_text(state, reason, run_url=self.run_url(run_id), pr_url=pr_url))
                except Exception:  # noqa: BLE001 - GitHub down after retries: the store still says why
                    log.exception("could not update the status comment of job %s", job_id)
            done = {"comment_id": comment.id} if comment is not None and comment.id else {}
            self.store.update(job_id, state=state, status=state, reason=reason, pr_url=pr_url or None, owner=None, **done)

    def _say_failed(self, job: Job) -> None:
        try:
            comment = self.forge(job).status_comment(job.number, job.comment_id)
            comment.show(status_text("failed", job.reason or "", run_url=self.run_url(job.run_id)))
        except Exception:  # noqa: BLE001 - the store says why in any case
            log.exception("could not report job %s as failed on GitHub", job.id)

    def _fix(self, job: Job, forge: Forge, comment: StatusComment) -> tuple[str, str, str]:
        from agent.request import RunRequest
        from agent.runner import RunError, new_run_id, resume_run, start_run  # the graph stack: workers only

        run_id = job.run_id or new_run_id(f"{job.repo}#{job.number}")
        self.store.update(job.id, run_id=run_id, comment_id=comment.id)  # before the run: a new worker resumes it

        def show(stage: str, detail: str) -> None:
            self.store.update(job.id, status=stage)
            try:
                comment.show(status_text(stage, detail, run_url=self.run_url(run_id)))
            except Exception:  # noqa: BLE001 - GitHub down after retries must not stop the fix itself
                log.exception("could not show stage %s of job %s", stage, job.id)

        resuming = (self.settings.runs_dir / run_id / "run.json").is_file()
        show("localizing", "resuming after a worker restart" if resuming else "")
        issue = forge.issue(job.number)
        owner, name = job.repo.split("/")
        mirror = forge.sync_mirror(self.settings.home_dir / "app" / "mirrors" / f"{owner}+{name}.git")
        tracker = StageTracker(show, self.settings.run.max_attempts, self.settings.reproduce_enabled())
        try:
            if resuming:
                result = resume_run(self.settings, run_id, on_update=tracker, **self.backends)
            else:
                request = RunRequest(issue=issue, issue_ref=issue.source, repo=str(mirror))
                result = start_run(self.settings, request, run_id=run_id, on_update=tracker, **self.backends)
        except RunError as e:
            return "failed", str(e), ""
        spent = _spent(result.run_dir)
        if not result.fixed:
            return "failed", result.state.get("reason", "not fixed") + spent, ""
        pr_url = publish(forge, job.number, issue, result, draft=self.cfg.draft,
                         test_command=self.settings.run.test_command, run_url=self.run_url(run_id))
        return "done", result.state.get("reason", "fixed") + spent, pr_url

    @contextmanager
    def _heartbeat(self, job_id: int):
        """Tell other hosts this job's worker is alive, so they do not take it over."""
        stop = threading.Event()
        interval = max(1.0, self.cfg.lease_seconds / 3)

        def beat():
            while not stop.wait(interval):
                self.store.beat(job_id, self.me)

        thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()


def _spent(run_dir) -> str:
    """The run's spend for the status comment (from its report: tokens, seconds, budgets)."""
    try:
        spend = json.loads((run_dir / "report.json").read_text(encoding="utf-8")).get("spend")
    except (OSError, ValueError):
        return ""
    return f". {spend_line(spend)}" if spend else ""


def run_worker(settings: Settings, **backends) -> None:
    """The `patchwright worker` loop: recover what died with earlier workers, then consume."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    worker = Worker(settings, **backends)
    worker.recover()
    worker.queue.consumer().run()
