"""The scripted model as a real OpenAI-compatible HTTP server: replays canned replies so the genuine
openai client and OpenAICompatModel are exercised end to end, failure modes included (garbage,
HTTP 500, hangs, no choices). A scripted tool call (agent.models.replies.tool_reply) is answered as
the OpenAI API answers one: the message's ``tool_calls``, finish_reason "tool_calls".

Run as a command (blocks until interrupted)::

    python -m agent.models.scripted REPLIES.json --port 8001
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Literal

from agent.models.base import ModelError, estimate_prompt_tokens, estimate_tokens
from agent.models.replies import ScriptedReply, load_replies, reply_calls, reply_cut, reply_text

__all__ = ["MODES", "Mode", "ScriptedServer", "main"]

Mode = Literal["normal", "garbage", "error500", "hang", "nochoices"]
MODES: tuple[str, ...] = ("normal", "garbage", "error500", "hang", "nochoices")


class _Handler(BaseHTTPRequestHandler):
    server: "_HTTPServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.owner.verbose:
            sys.stderr.write("scripted-server: " + (format % args) + "\n")

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"))

    def _path(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        return path[3:] if path.startswith("/v1") else path

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        owner = self.server.owner
        if self._path() == "/models":
            entry: dict[str, Any] = {
                "id": owner.model,
                "object": "model",
                "created": int(owner.started),
                "owned_by": "patchwright",
            }
            if owner.max_model_len is not None:
                entry["max_model_len"] = owner.max_model_len
            self._json(200, {"object": "list", "data": [entry]})
        elif self._path() in ("", "/health"):
            self._json(200, {"status": "ok"})
        else:
            self._json(404, {"error": {"message": f"no route GET {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:  # noqa: N802
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.split("?", 1)[0].rstrip("/") == "/tokenize" and owner.tokenizer is not None:
            self._tokenize(raw)
            return
        if self._path() != "/chat/completions":
            self._json(404, {"error": {"message": f"no route POST {self.path}", "type": "not_found"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            self._json(400, {"error": {"message": f"request body is not JSON: {exc}", "type": "invalid_request"}})
            return
        with owner._lock:
            owner.requests.append(body)
        mode = owner.mode
        if mode == "garbage":
            self._send(200, b"<html><body>502 Bad Gateway (not really JSON)</body></html>",
                       owner.garbage_content_type)
            return
        if mode == "error500":
            self._json(500, {"error": {"message": "scripted internal server error", "type": "server_error"}})
            return
        if mode == "nochoices":
            self._json(200, {"id": "chatcmpl-empty", "object": "chat.completion", "created": int(time.time()),
                             "model": owner.model, "choices": []})
            return
        if mode == "hang":
            owner._closing.wait(owner.hang_seconds)
            if owner._closing.is_set():
                return
        if body.get("stream"):
            self._json(400, {"error": {"message": "ScriptedServer does not stream", "type": "invalid_request"}})
            return
        n = body.get("n") if isinstance(body.get("n"), int) and body.get("n", 0) > 0 else 1
        if owner.ignore_n:
            n = 1  # as llama.cpp's server does
        with owner._lock:
            if owner._next + n > len(owner.replies):
                replies = None
            else:
                replies = owner.replies[owner._next:owner._next + n]
                owner._next += n
        if replies is None:
            self._json(400, {"error": {
                "message": f"ScriptedServer ran out of replies ({len(owner.replies)} served)",
                "type": "invalid_request",
            }})
            return
        messages = body.get("messages") if isinstance(body.get("messages"), list) else []
        prompt_tokens = estimate_prompt_tokens([m for m in messages if isinstance(m, dict)])
        completion_tokens = sum(estimate_tokens(reply_text(r)) for r in replies)
        self._json(200, {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or owner.model,
            "choices": [_choice(i, reply) for i, reply in enumerate(replies)],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        })

    def _tokenize(self, raw: bytes) -> None:
        """vLLM's tokenizer route (outside /v1); the fault modes are about chat, not this."""
        owner = self.server.owner
        try:
            body = json.loads(raw or b"{}")
            prompt = body["prompt"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            self._json(400, {"error": {"message": f"tokenize wants {{'prompt': ...}}: {exc}", "type": "invalid_request"}})
            return
        with owner._lock:
            owner.tokenize_requests.append(body)
        tokens = list(owner.tokenizer(str(prompt)))
        self._json(200, {"count": len(tokens), "max_model_len": owner.max_model_len, "tokens": tokens,
                         "token_strs": None})


def _choice(index: int, reply: ScriptedReply) -> dict:
    calls = reply_calls(reply, f"call_{uuid.uuid4().hex[:8]}_")
    if not calls:
        return {"index": index, "message": {"role": "assistant", "content": reply_text(reply)},
                "finish_reason": "length" if reply_cut(reply) else "stop"}
    return {"index": index, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": reply_text(reply) or None,
        "tool_calls": [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                       for c in calls]}}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: "ScriptedServer"):
        self.owner = owner
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) closes its socket; that is expected, not worth a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)) and not self.owner.verbose:
            return
        super().handle_error(request, client_address)


class ScriptedServer:
    """An OpenAI-compatible HTTP server replaying ``replies`` in order.

    ``mode`` selects a fault for tests: ``"garbage"`` (200 with an HTML body, sent as
    ``garbage_content_type``),
    ``"error500"`` (HTTP 500 every time), ``"hang"`` (waits ``hang_seconds``
    before answering), ``"nochoices"`` (200 JSON without choices).  Every chat
    request's JSON body is appended to :attr:`requests`.

    ``ignore_n`` answers one choice whatever ``n`` asks, as llama.cpp's server does.

    ``tokenizer`` (text -> tokens) adds vLLM's ``POST /tokenize``, whose bodies go to
    :attr:`tokenize_requests`; without it the server has no tokenizer route, as some servers do not.

    Use as a context manager, or call :meth:`start` / :meth:`close`.
    """

    def __init__(
        self,
        replies: list[ScriptedReply] | None = None,
        *,
        mode: Mode = "normal",
        host: str = "127.0.0.1",
        port: int = 0,
        model: str = "scripted-model",
        max_model_len: int | None = 8192,
        hang_seconds: float = 30.0,
        garbage_content_type: str = "text/html",
        tokenizer: Callable[[str], list] | None = None,
        ignore_n: bool = False,
        verbose: bool = False,
    ):
        if mode not in MODES:
            raise ValueError(f"unknown ScriptedServer mode {mode!r}; choose one of {', '.join(MODES)}")
        self.replies = list(replies or [])
        self.mode = mode
        self.model = model
        self.max_model_len = max_model_len
        self.hang_seconds = hang_seconds
        self.garbage_content_type = garbage_content_type
        self.verbose = verbose
        self.tokenizer = tokenizer
        self.ignore_n = ignore_n
        self.requests: list[dict] = []
        self.tokenize_requests: list[dict] = []
        self.started = time.time()
        self._next = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._httpd = _HTTPServer((host, port), self)
        self.host, self.port = self._httpd.server_address[:2]

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> "ScriptedServer":
        """Create a server from a replies file (see :func:`load_replies`)."""
        replies, options = load_replies(path)
        for key in ("model", "max_model_len", "mode"):
            if key in options:
                kwargs.setdefault(key, options[key])
        return cls(replies, **kwargs)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def remaining(self) -> int:
        return len(self.replies) - self._next

    def start(self) -> "ScriptedServer":
        """Serve in a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"scripted-server-{self.port}", daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self.close()

    def close(self) -> None:
        """Stop serving, release hanging handlers and the port."""
        self._closing.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> "ScriptedServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agent.models.scripted",
        description="Serve canned replies through an OpenAI-compatible HTTP API.",
    )
    parser.add_argument("replies", type=Path, help="JSON file: list of replies or {\"replies\": [...]}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed on start)")
    parser.add_argument("--mode", choices=MODES, default=None)
    parser.add_argument("--model", default=None, help="model id announced on /v1/models")
    parser.add_argument("--max-model-len", type=int, default=None)
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)
    kwargs: dict[str, Any] = {"host": args.host, "port": args.port, "hang_seconds": args.hang_seconds,
                              "verbose": args.verbose}
    for key in ("mode", "model", "max_model_len"):
        if getattr(args, key) is not None:
            kwargs[key] = getattr(args, key)
    try:
        server = ScriptedServer.from_file(args.replies, **kwargs)
    except (ModelError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"scripted model server listening on {server.base_url} "
          f"({len(server.replies)} replies, mode {server.mode})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
