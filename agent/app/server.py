"""Run the app with uvicorn: in the foreground for `patchwright app serve`, or on a background
thread (tests, the webhook benchmark) on a free loopback port."""
from __future__ import annotations

import logging
import threading
import time

import uvicorn

from agent.app.webhook import create_app


def serve(settings, host: str | None = None, port: int | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    cfg = settings.app
    uvicorn.run(create_app(settings), host=host or cfg.host, port=port if port is not None else cfg.port,
                log_level="info", access_log=False)


class BackgroundServer:
    """    with BackgroundServer(create_app(settings)) as srv: requests.post(srv.url + "/webhook", ...)"""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
        self._thread = threading.Thread(target=self._server.run, name="patchwright-app", daemon=True)
        self.url = ""

    def start(self) -> "BackgroundServer":
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app server did not start")
            time.sleep(0.01)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
