"""Git's smart HTTP protocol for the fake server, by running `git http-backend` as a CGI program.

Pushes need HTTP Basic credentials (user `x-access-token`, password an installation token), as on
GitHub, so a push proves the token reached git through the credential helper; clones of public
repositories are anonymous.
"""
from __future__ import annotations

import gzip
import subprocess
from pathlib import Path


def read_body(handler) -> bytes:
    """The request body, de-chunked: git streams large POSTs with Transfer-Encoding: chunked."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()  # the CRLF after each chunk
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def is_push(path_info: str, query: str) -> bool:
    return path_info.endswith("/git-receive-pack") or "service=git-receive-pack" in query


def serve(handler, project_root: Path, path_info: str, query: str, body: bytes, remote_user: str | None) -> None:
    """Answer one smart-HTTP request (info/refs, git-upload-pack, git-receive-pack) through http-backend."""
    if handler.headers.get("Content-Encoding", "").lower() == "gzip":
        body = gzip.decompress(body)  # http-backend would inflate it too; doing it here keeps CONTENT_LENGTH right
    env = {
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "GIT_PROJECT_ROOT": str(project_root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "REQUEST_METHOD": handler.command,
        "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": handler.client_address[0],
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(project_root),
    }
    if remote_user:
        env["REMOTE_USER"] = remote_user  # http-backend enables receive-pack for authenticated users
    if handler.headers.get("Git-Protocol"):
        env["GIT_PROTOCOL"] = handler.headers["Git-Protocol"]
    proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=120)
    head, _, payload = proc.stdout.partition(b"\r\n\r\n")
    if not _ and b"\n\n" in proc.stdout:
        head, _, payload = proc.stdout.partition(b"\n\n")
    status, headers = 200, []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers.append((name, value.strip()))
    if proc.returncode != 0 and status == 200:
        status, payload, headers = 500, proc.stderr, [("Content-Type", "text/plain")]
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)
