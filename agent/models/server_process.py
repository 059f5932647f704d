"""A model server as a child process: start it in the background, wait until it serves, stop it
(its whole process group).  For the demo and tests; ``patchwright model serve`` runs it in the
foreground (agent.models.serve)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from agent.models.base import ModelError
from agent.models.engine_info import write_launch_record
from agent.models.gguf import default_cache_dir
from agent.models.profiles import Profile
from agent.models.server_command import build_command

__all__ = ["free_port", "start_background", "stop", "url_host", "wait_ready"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def url_host(host: str) -> str:
    """The address a client uses to reach a server listening on ``host``."""
    return "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)


def start_background(
    profile: Profile | str,
    host: str = "127.0.0.1",
    port: int = 0,
    cache_dir: Path | str | None = None,
    *,
    log_file: Path | str | None = None,
    **kwargs,
) -> tuple[subprocess.Popen, str]:
    """Start the server as a child process; returns ``(process, base_url)``.

    ``port=0`` picks a free port.  Output goes to ``log_file`` (default: a file in the
    cache dir) rather than a pipe, so a chatty server never blocks.  The child runs in its
    own process group; stop it with :func:`stop`.  Follow with :func:`wait_ready`.
    ``kwargs`` go to :func:`agent.models.server_command.build_command`.
    """
    port = port or free_port(host if host not in ("0.0.0.0", "") else "127.0.0.1")
    command = build_command(profile, host, port, cache_dir, **kwargs)
    cmd, backend = command.argv, command.backend
    if log_file is None:
        logs = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        logs.mkdir(parents=True, exist_ok=True)
        log_file = logs / f"server-{port}.log"
    log_path = Path(log_file)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, **command.env})
    write_launch_record(port, {"pid": proc.pid, "backend": backend, "argv": cmd, "log": str(log_path)})
    proc.log_file = log_path  # type: ignore[attr-defined]
    proc.backend = backend  # type: ignore[attr-defined]
    return proc, f"http://{url_host(host)}:{port}/v1"


def _log_tail(proc: subprocess.Popen | None, lines: int = 20) -> str:
    path = getattr(proc, "log_file", None)
    if not path:
        return ""
    try:
        text = Path(path).read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return f"\nlast lines of {path}:\n" + "\n".join(text)


def wait_ready(base_url: str, timeout: float = 180.0, proc: subprocess.Popen | None = None,
               interval: float = 0.25) -> float:
    """Poll ``GET {base_url}/models`` until it lists a model; returns the seconds waited.

    Raises :class:`ModelError` if ``timeout`` passes or ``proc`` exits first.
    """
    url = base_url.rstrip("/") + "/models"
    started = time.monotonic()
    last = "no answer yet"
    while True:
        if proc is not None and proc.poll() is not None:
            raise ModelError(
                f"model server for {base_url} exited with code {proc.returncode} before it was ready"
                + _log_tail(proc)
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                data = json.loads(response.read() or b"{}")
            if isinstance(data, dict) and data.get("data"):
                return time.monotonic() - started
            last = f"GET /models listed no models: {str(data)[:200]}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = str(getattr(exc, "reason", exc))
        if time.monotonic() - started > timeout:
            raise ModelError(
                f"model server at {base_url} was not ready within {timeout:g} s ({last})" + _log_tail(proc)
            )
        time.sleep(interval)


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> int | None:
    """Terminate a server started by :func:`start_background` (its whole process group)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode
