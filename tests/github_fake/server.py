"""A local GitHub: the REST endpoints the bot uses, App authentication (JWT, installation tokens)
and git over smart HTTP, on a loopback port. PyGithub and git talk to it for real.

Every API request is checked against GitHub's OpenAPI description when one is given: problems are
kept in `violations` and answered 422, as GitHub answers invalid input. `fail_next` injects rate
limits and 5xx answers so retrying can be tested.

    with FakeGitHub(tmp, app_id=1, app_public_key=pem, openapi=OpenAPI.load(openapi_path())) as gh:
        gh.world.add_repo("octo/demo", source_dir); gh.world.add_issue("octo/demo", 1, "title", "body")
        Github(base_url=gh.api_url, ...)
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt

from . import git_http, issue_routes, routes
from .routes import ApiError
from .world import World

API_PREFIX = "/api/v3"
# Every route module the fake has, registered here once: which operations exist never depends on what was imported.
ROUTES = routes.ROUTES + issue_routes.ROUTES


class FakeGitHub:
    def __init__(self, root: Path, *, app_id: int, app_public_key: str | bytes, openapi=None, host: str = "127.0.0.1"):
        self._httpd = ThreadingHTTPServer((host, 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self.web_url = f"http://{host}:{self._httpd.server_address[1]}"
        self.api_url = self.web_url + API_PREFIX
        self.world = World(Path(root), self.web_url, self.api_url, app_id)
        self.app_public_key = app_public_key
        self.openapi = openapi
        self.requests: list[dict] = []       # every request: method, path, status
        self.violations: list[str] = []      # departures from GitHub's OpenAPI description
        self.pushes: list[dict] = []         # git pushes: repository and the installation that pushed
        self._faults: list[dict] = []
        self._thread: threading.Thread | None = None

    def start(self) -> "FakeGitHub":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-github", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():  # shutdown() waits forever on a dead loop
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "FakeGitHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def fail_next(self, method: str, path_regex: str, status: int, *, times: int = 1,
                  headers: dict | None = None, message: str = "Server Error") -> None:
        """Answer the next `times` matching API requests with `status` instead of serving them."""
        self._faults.append({"method": method, "re": re.compile(path_regex), "status": status, "times": times,
                             "headers": headers or {}, "message": message})

    def rate_limit_next(self, method: str, path_regex: str, *, times: int = 1, seconds: int = 1) -> None:
        """GitHub's primary rate limit answer: 403, remaining 0, reset in `seconds`."""
        self.fail_next(method, path_regex, 403, times=times, message="API rate limit exceeded for installation ID 1.",
                       headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + seconds)})

    def calls(self, method: str, path_regex: str) -> list[dict]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r["method"] == method and pattern.search(r["path"])]

    def _fault_for(self, method: str, path: str) -> dict | None:
        with self.world.lock:
            for fault in self._faults:
                if fault["times"] > 0 and fault["method"] == method and fault["re"].search(path):
                    fault["times"] -= 1
                    return fault
        return None

    def identity(self, authorization: str | None) -> dict | None:
        """Who the Authorization header says is calling; raises ApiError(401) for bad credentials."""
        if not authorization:
            return None
        scheme, _, credential = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            credential = base64.b64decode(credential).decode().partition(":")[2]
        elif scheme not in ("bearer", "token"):
            raise ApiError(401, "Bad credentials")
        if credential.count(".") == 2:  # a JWT: the App itself
            try:
                claims = jwt.decode(credential, self.app_public_key, algorithms=["RS256"])
            except jwt.PyJWTError as e:
                raise ApiError(401, f"A JSON web token could not be decoded: {e}") from e
            if str(claims.get("iss")) != str(self.world.app_id):
                raise ApiError(401, "'Issuer' claim ('iss') must be the App's id")
            return {"kind": "app"}
        installation = self.world.tokens.get(credential)
        if installation is None:
            raise ApiError(401, "Bad credentials")
        return {"kind": "installation", "id": installation, "login": f"{self.world.app_slug}[bot]"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeGitHub/1"

    def log_message(self, format, *args):  # noqa: A002 - quiet: the request log is kept in `requests`
        pass

    @property
    def fake(self) -> FakeGitHub:
        return self.server.fake  # type: ignore[attr-defined]

    def do_GET(self):  # noqa: N802
        self._dispatch()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET  # noqa: N815

    def _dispatch(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        body = git_http.read_body(self)
        if url.path.startswith("/git/"):
            return self._git(url, body)
        record = {"method": self.command, "path": url.path.removeprefix(API_PREFIX), "status": 0}
        self.fake.requests.append(record)
        try:
            status, payload, headers = self._api(record["path"], urllib.parse.parse_qs(url.query), body)
        except ApiError as e:
            status, payload, headers = e.status, {"message": e.message, **e.extra}, e.headers
        record["status"] = status
        self._json(status, payload, headers)

    def _api(self, path: str, query: dict, body: bytes):
        fault = self.fake._fault_for(self.command, path)
        if fault is not None:
            return fault["status"], {"message": fault["message"]}, fault["headers"]
        if not self.path.startswith(API_PREFIX):
            raise ApiError(404, "Not Found")
        if self.fake.openapi is not None:
            problems = self.fake.openapi.check(self.command, path, query, body)
            if problems:
                self.fake.violations.extend(problems)
                raise ApiError(422, "Invalid request.", errors=problems)
        who = self.fake.identity(self.headers.get("Authorization"))
        data = json.loads(body) if body else {}
        for method, pattern, handler in ROUTES:
            m = pattern.fullmatch(path)
            if m and method == self.command:
                status, payload = handler(self.fake.world, who, *m.groups(), query=query, data=data)
                return status, payload, {}
        raise ApiError(404, "Not Found")

    def _json(self, status: int, payload, headers: dict) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        base = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999",
                "X-RateLimit-Reset": str(int(time.time()) + 3600)}
        for name, value in {**base, **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _git(self, url, body: bytes) -> None:
        m = re.match(r"^/git/([^/]+)/([^/]+?)\.git(/.*)$", url.path)
        repo = self.fake.world.repos.get(f"{m[1]}/{m[2]}") if m else None
        if repo is None:
            return self._json(404, {"message": "Repository not found."}, {})
        try:
            who = self.fake.identity(self.headers.get("Authorization"))
        except ApiError:
            who = None
        allowed = who is not None and who["kind"] == "installation" and self.fake.world.can_write(who["id"], repo.full_name)
        if (git_http.is_push(m[3], url.query) or repo.private) and not allowed:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
            self.send_header("Content-Length", "0")
            return self.end_headers()
        if allowed and m[3].endswith("/git-receive-pack"):
            self.fake.pushes.append({"repo": repo.full_name, "installation": who["id"]})
        git_http.serve(self, repo.path.parents[1], f"/{m[1]}/{m[2]}.git{m[3]}", url.query, body,
                       who["login"] if allowed else None)
