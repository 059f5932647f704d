"""The REST operations the fake serves, each as GitHub documents it: who may call it, what it
answers, and the validation errors GitHub gives (e.g. a second open pull request for one branch)."""
from __future__ import annotations

import re
import time

from .world import Repo, World, now

PERMISSION_RANK = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None, **extra):
        super().__init__(message)
        self.status, self.message, self.headers, self.extra = status, message, headers or {}, extra


def _repo(world: World, who: dict | None, owner: str, name: str, write: bool = False) -> Repo:
    repo = world.repos.get(f"{owner}/{name}")
    installation = who["id"] if who and who["kind"] == "installation" else None
    if repo is None or (repo.private and not world.can_write(installation, repo.full_name)):
        raise ApiError(404, "Not Found")
    if write and not world.can_write(installation, repo.full_name):
        raise ApiError(403 if who else 401, "Resource not accessible by integration" if who else "Requires authentication")
    return repo


def _issue(repo: Repo, number: str) -> dict:
    issue = repo.issues.get(int(number))
    if issue is None:
        raise ApiError(404, "Not Found")
    return issue


def _app_only(who: dict | None) -> None:
    if not who or who["kind"] != "app":
        raise ApiError(401, "A JSON web token could not be decoded")


def create_token(world: World, who, installation_id, *, query, data):
    _app_only(who)
    if int(installation_id) not in world.installations:
        raise ApiError(404, "Not Found")
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    return 201, {"token": world.issue_token(int(installation_id)), "expires_at": expires,
                 "permissions": {"issues": "write", "pull_requests": "write", "contents": "write", "metadata": "read"},
                 "repository_selection": "selected"}


def repo_installation(world: World, who, owner, name, *, query, data):
    _app_only(who)
    for installation, names in world.installations.items():
        if f"{owner}/{name}" in names:
            return 200, {"id": installation, "app_id": world.app_id, "account": world.user_json(owner),
                         "target_type": "User", "permissions": {}, "events": ["issues", "issue_comment"]}
    raise ApiError(404, "Not Found")


def get_repo(world, who, owner, name, *, query, data):
    return 200, world.repo_json(_repo(world, who, owner, name))


def get_issue(world, who, owner, name, number, *, query, data):
    repo = _repo(world, who, owner, name)
    return 200, world.issue_json(repo, _issue(repo, number))


def list_comments(world, who, owner, name, number, *, query, data):
    repo = _repo(world, who, owner, name)
    _issue(repo, number)
    found = [c for c in world.comments.values() if c["repo"] == repo.full_name and c["issue"] == int(number)]
    return 200, [world.comment_json(c) for c in sorted(found, key=lambda c: c["id"])]


def create_comment(world, who, owner, name, number, *, query, data):
    repo = _repo(world, who, owner, name, write=True)
    _issue(repo, number)
    with world.lock:
        comment = {"id": world.next_id(), "repo": repo.full_name, "issue": int(number), "body": data["body"],
                   "user": who["login"], "created_at": now(), "updated_at": now(), "edits": []}
        world.comments[comment["id"]] = comment
    return 201, world.comment_json(comment)


def _comment(world, who, owner, name, comment_id, write=False) -> dict:
    repo = _repo(world, who, owner, name, write=write)
    comment = world.comments.get(int(comment_id))
    if comment is None or comment["repo"] != repo.full_name:
        raise ApiError(404, "Not Found")
    return comment


def get_comment(world, who, owner, name, comment_id, *, query, data):
    return 200, world.comment_json(_comment(world, who, owner, name, comment_id))


def edit_comment(world, who, owner, name, comment_id, *, query, data):
    comment = _comment(world, who, owner, name, comment_id, write=True)
    if comment["user"] != who["login"]:
        raise ApiError(403, "Resource not accessible by integration")
    with world.lock:
        comment["edits"].append(comment["body"])  # the history, so tests can see every status shown
        comment.update(body=data["body"], updated_at=now())
    return 200, world.comment_json(comment)


def permission(world, who, owner, name, login, *, query, data):
    repo = _repo(world, who, owner, name)
    if who is None:
        raise ApiError(401, "Requires authentication")
    level = "admin" if login == repo.owner else repo.permissions.get(login, "none")
    role = level if level != "none" else "read"
    shown = {"maintain": "write", "triage": "read"}.get(level, level)  # the legacy field GitHub still sends
    return 200, {"permission": shown, "role_name": role, "user": world.user_json(login)}


def list_pulls(world, who, owner, name, *, query, data):
    repo = _repo(world, who, owner, name)
    state = query.get("state", ["open"])[0]
    head = query.get("head", [None])[0]
    found = [p for p in repo.pulls.values() if state in ("all", p["state"])
             and (head is None or f"{repo.owner}:{p['head']}" == head or p["head"] == head)]
    return 200, [world.pull_json(repo, p) for p in sorted(found, key=lambda p: p["number"])]


def create_pull(world, who, owner, name, *, query, data):
    repo = _repo(world, who, owner, name, write=True)
    head = data["head"].split(":", 1)[-1]
    branches = repo.branches()
    errors = [{"resource": "PullRequest", "field": f, "code": "invalid"} for f, b in (("head", head), ("base", data["base"]))
              if b not in branches]
    if any(p["head"] == head and p["base"] == data["base"] and p["state"] == "open" for p in repo.pulls.values()):
        errors.append({"resource": "PullRequest", "code": "custom",
                       "message": f"A pull request already exists for {owner}:{head}."})
    if errors:
        raise ApiError(422, "Validation Failed", errors=errors)
    with world.lock:
        number = max([*repo.issues, *repo.pulls, 0]) + 1
        pr = {"id": world.next_id(), "number": number, "title": data["title"], "body": data.get("body", ""),
              "head": head, "base": data["base"], "draft": data.get("draft", False), "state": "open",
              "user": who["login"], "created_at": now(), "updated_at": now()}
        repo.pulls[number] = pr
    return 201, world.pull_json(repo, pr)


def _pull(repo: Repo, number: str) -> dict:
    pr = repo.pulls.get(int(number))
    if pr is None:
        raise ApiError(404, "Not Found")
    return pr


def get_pull(world, who, owner, name, number, *, query, data):
    repo = _repo(world, who, owner, name)
    return 200, world.pull_json(repo, _pull(repo, number))


def edit_pull(world, who, owner, name, number, *, query, data):
    repo = _repo(world, who, owner, name, write=True)
    pr = _pull(repo, number)
    with world.lock:
        pr.update({k: v for k, v in data.items() if k in ("title", "body", "state", "base")}, updated_at=now())
    return 200, world.pull_json(repo, pr)


_R = r"/repos/([^/]+)/([^/]+)"
ROUTES = [(method, re.compile(pattern), handler) for method, pattern, handler in [
    ("POST", r"/app/installations/(\d+)/access_tokens", create_token),
    ("GET", _R + r"/installation", repo_installation),
    ("GET", _R, get_repo),
    ("GET", _R + r"/issues/(\d+)", get_issue),
    ("GET", _R + r"/issues/(\d+)/comments", list_comments),
    ("POST", _R + r"/issues/(\d+)/comments", create_comment),
    ("GET", _R + r"/issues/comments/(\d+)", get_comment),
    ("PATCH", _R + r"/issues/comments/(\d+)", edit_comment),
    ("GET", _R + r"/collaborators/([^/]+)/permission", permission),
    ("GET", _R + r"/pulls", list_pulls),
    ("POST", _R + r"/pulls", create_pull),
    ("GET", _R + r"/pulls/(\d+)", get_pull),
    ("PATCH", _R + r"/pulls/(\d+)", edit_pull),
]]
