"""`patchwright app serve`: the webhook endpoint and the web page, one FastAPI app.

The body is read as a stream: one past the size limit is refused (413) as soon as the limit is
passed, whatever its transfer encoding, and until its signature is checked (constant-time, on the
raw bytes, before anything is parsed) at most SPOOL bytes of it are held in memory, so unsigned
bytes cannot grow the server. A delivery is answered as soon as it is recorded and its job id
enqueued: the slow work (GitHub calls, the fix run) happens in a worker, which is also the only
process holding tokens. This module's imports stay clear of the model and graph stack, so the
server starts fast and a webhook cannot reach a model.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import tempfile

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from agent.app.events import EVENTS, BadPayload, Ignore, Installation, interpret
from agent.app.jobs import JobStore
from agent.app.queue import JobQueue
from agent.app.web import SecurityHeaders, web_router
from agent.config import ConfigError, Settings

log = logging.getLogger("patchwright.webhook")
SPOOL = 1024 * 1024  # the rest of a larger body waits in a temporary file until it is known to be GitHub's


class Refused(Exception):
    def __init__(self, status: int, error: str):
        super().__init__(error)
        self.status, self.error = status, error


async def signed_body(request: Request, secret: bytes, limit: int) -> bytes:
    """The body, once its X-Hub-Signature-256 is checked; Refused (401 or 413) otherwise."""
    header = request.headers.get("x-hub-signature-256") or ""
    if not header.startswith("sha256="):
        raise Refused(401, "missing or invalid X-Hub-Signature-256")  # not a byte of the body read
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        raise Refused(400, "invalid Content-Length")
    if declared is not None and int(declared) > limit:
        raise Refused(413, "payload too large")  # refused before a byte of it arrives
    mac, size = hmac.new(secret, digestmod=hashlib.sha256), 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL) as spool:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:  # chunked bodies declare no length: count what arrives
                raise Refused(413, "payload too large")
            mac.update(chunk)
            spool.write(chunk)
        if not hmac.compare_digest(f"sha256={mac.hexdigest()}".encode(), header.encode()):
            raise Refused(401, "missing or invalid X-Hub-Signature-256")
        spool.seek(0)
        return spool.read()


def parse(body: bytes):
    """The payload object, or Refused(400): strict UTF-8 (no guessing UTF-16), and a body nested
    deeper than the parser's recursion limit is malformed, not a server error."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except RecursionError:
        raise Refused(400, "body is not JSON: nested too deeply") from None
    except ValueError as e:  # UnicodeDecodeError is one
        raise Refused(400, f"body is not JSON: {str(e)[:200]}") from None
    if not isinstance(payload, dict):
        raise Refused(400, "body is not a JSON object")
    return payload


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
    app.add_middleware(SecurityHeaders)

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
        try:
            body = await signed_body(request, secret, cfg.max_body_bytes)
            event, delivery = request.headers.get("x-github-event"), request.headers.get("x-github-delivery")
            if not event or not delivery:
                raise Refused(400, "missing X-GitHub-Event or X-GitHub-Delivery")
            payload = parse(body)
        except Refused as e:
            return JSONResponse({"error": e.error}, status_code=e.status)
        if event not in EVENTS:  # answered on the event loop: no thread, no database
            return JSONResponse({"outcome": "ignored", "reason": f"event '{event}' is not one patchwright acts on"})
        status, answer = await run_in_threadpool(handle, event, delivery, payload)  # SQLite writes off the event loop
        return JSONResponse(answer, status_code=status)

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    app.include_router(web_router(settings, store))
    return app
