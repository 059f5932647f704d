"""`patchwright app serve`: the webhook endpoint and the web page, one FastAPI app.

The signature is checked on the raw bytes before anything is parsed, with a constant-time
compare. A delivery is answered as soon as it is recorded and its job id enqueued: the slow work
(GitHub calls, the fix run) happens in a worker, which is also the only process holding tokens.
This module's imports stay clear of the model and graph stack, so the server starts fast and a
webhook cannot reach a model.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from agent.app.events import EVENTS, BadPayload, Ignore, Installation, interpret
from agent.app.jobs import JobStore
from agent.app.queue import JobQueue
from agent.app.web import web_router
from agent.config import ConfigError, Settings

log = logging.getLogger("patchwright.webhook")
MAX_BODY = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


def store_for(settings: Settings) -> JobStore:
    return JobStore(settings.home_dir / "app" / "jobs.sqlite")


def create_app(settings: Settings, *, store: JobStore | None = None, queue: JobQueue | None = None) -> FastAPI:
    cfg = settings.app
    if cfg.webhook_secret is None or not cfg.webhook_secret.get_secret_value():
        raise ConfigError("no webhook secret: set PATCHWRIGHT_APP__WEBHOOK_SECRET (the secret configured on the App)")
    secret = cfg.webhook_secret.get_secret_value().encode()
    store = store or store_for(settings)
    queue = queue or JobQueue(settings)
    app = FastAPI(title="patchwright", docs_url=None, redoc_url=None, openapi_url=None)

    def handle(event: str, delivery: str, payload: dict) -> tuple[int, dict]:
        try:
            what = interpret(event, payload, cfg.label, cfg.command)
        except BadPayload as e:
            return 400, {"error": str(e)}
        if isinstance(what, Ignore):  # no work, not even a write
            return 200, {"outcome": "ignored", "reason": what.reason}
        if isinstance(what, Installation):
            store.record_installation(what.id, what.account, what.action, what.repositories)
            store.add_delivery(delivery, event, f"installation {what.action}")
            return 200, {"outcome": "recorded", "installation": what.id, "action": what.action}
        job_id, outcome = store.add_trigger(delivery, event, what.repo, what.number, what.installation_id,
                                            what.sender, what.trigger)
        if outcome == "created":
            queue.enqueue("intake", job_id)
            log.info("job %s queued: %s#%s (%s)", job_id, what.repo, what.number, what.trigger)
            return 202, {"outcome": "queued", "job": job_id}
        return 200, {"outcome": outcome, "job": job_id}

    @app.post("/webhook")
    async def webhook(request: Request):
        if int(request.headers.get("content-length") or 0) > MAX_BODY:
            return JSONResponse({"error": "payload too large"}, status_code=413)
        body = await request.body()
        if not signature_ok(secret, body, request.headers.get("x-hub-signature-256")):
            return JSONResponse({"error": "missing or invalid X-Hub-Signature-256"}, status_code=401)
        event, delivery = request.headers.get("x-github-event"), request.headers.get("x-github-delivery")
        if not event or not delivery:
            return JSONResponse({"error": "missing X-GitHub-Event or X-GitHub-Delivery"}, status_code=400)
        try:
            payload = json.loads(body)
        except ValueError as e:
            return JSONResponse({"error": f"body is not JSON: {e}"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"error": "body is not a JSON object"}, status_code=400)
        if event not in EVENTS:  # answered on the event loop: no thread, no database
            return JSONResponse({"outcome": "ignored", "reason": f"event '{event}' is not one patchwright acts on"})
        status, answer = await run_in_threadpool(handle, event, delivery, payload)  # SQLite writes off the event loop
        return JSONResponse(answer, status_code=status)

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    app.include_router(web_router(settings, store))
    return app
