"""The fake's state: repositories (backed by bare git repositories on disk), issues, comments,
pull requests, collaborators, the App and its installation tokens; and their JSON as GitHub
shapes it, with `url` fields pointing back at the fake so PyGithub can follow them."""
from __future__ import annotations

import itertools
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Repo:
    owner: str
    name: str
    path: Path
    id: int
    private: bool = False
    issues: dict[int, dict] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)   # login -> admin|maintain|write|triage|read|none
    pulls: dict[int, dict] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def branches(self) -> dict[str, str]:
        out = subprocess.run(["git", "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads"],
                             cwd=self.path, capture_output=True, text=True, check=True).stdout
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def default_branch(self) -> str:
        out = subprocess.run(["git", "symbolic-ref", "--short", "HEAD"], cwd=self.path, capture_output=True, text=True)
        return out.stdout.strip() or "main"


class World:
    """Everything the fake knows; one lock, because the HTTP server is threaded."""

    def __init__(self, root: Path, web_url: str, api_url: str, app_id: int, app_slug: str = "patchwright"):
        self.root, self.web_url, self.api_url = root, web_url, api_url
        self.app_id, self.app_slug = app_id, app_slug
        self.lock = threading.RLock()
        self.repos: dict[str, Repo] = {}
        self.comments: dict[int, dict] = {}           # id -> comment (with repo and issue number)
        self.tokens: dict[str, int] = {}              # installation token -> installation id
        self.installations: dict[int, list[str]] = {}  # installation id -> repository full names
        self._ids = itertools.count(1000)

    def next_id(self) -> int:
        return next(self._ids)

    # -- set-up (tests call these directly) --------------------------------------------------
    def add_repo(self, full_name: str, source: Path, *, private: bool = False, installation_id: int = 1) -> Repo:
        owner, name = full_name.split("/")
        path = self.root / "git" / owner / f"{name}.git"
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", "--bare", str(source), str(path)], check=True)
        repo = Repo(owner, name, path, self.next_id(), private)
        with self.lock:
            self.repos[full_name] = repo
            self.installations.setdefault(installation_id, []).append(full_name)
        return repo

    def add_issue(self, full_name: str, number: int, title: str, body: str, user: str = "octocat",
                  state: str = "open") -> dict:
        issue = {"number": number, "title": title, "body": body, "user": user, "state": state,
                 "labels": [], "created_at": now(), "id": self.next_id()}
        if state == "closed":
            issue["closed_at"] = now()
        with self.lock:
            self.repos[full_name].issues[number] = issue
        return issue

    def issue_token(self, installation_id: int) -> str:
        token = "ghs_" + secrets.token_urlsafe(27)
        with self.lock:
            self.tokens[token] = installation_id
        return token

    def can_write(self, installation_id: int | None, full_name: str) -> bool:
        return installation_id is not None and full_name in self.installations.get(installation_id, [])

    # -- JSON as GitHub shapes it -------------------------------------------------------------
    def user_json(self, login: str) -> dict:
        bot = login.endswith("[bot]")
        return {"login": login, "id": abs(hash(login)) % 10**8, "type": "Bot" if bot else "User",
                "site_admin": False, "url": f"{self.api_url}/users/{login}", "html_url": f"{self.web_url}/{login}"}

    def repo_json(self, repo: Repo) -> dict:
        api = f"{self.api_url}/repos/{repo.full_name}"
        return {"id": repo.id, "name": repo.name, "full_name": repo.full_name, "private": repo.private,
                "owner": self.user_json(repo.owner), "html_url": f"{self.web_url}/{repo.full_name}",
                "url": api, "clone_url": f"{self.web_url}/git/{repo.owner}/{repo.name}.git",
                "default_branch": repo.default_branch(), "fork": False, "visibility": "private" if repo.private else "public"}

    def issue_json(self, repo: Repo, issue: dict) -> dict:
        api = f"{self.api_url}/repos/{repo.full_name}/issues/{issue['number']}"
        return {"id": issue["id"], "number": issue["number"], "title": issue["title"], "body": issue["body"],
                "state": issue["state"], "user": self.user_json(issue["user"]), "labels": issue["labels"],
                "url": api, "comments_url": f"{api}/comments",
                "html_url": f"{self.web_url}/{repo.full_name}/issues/{issue['number']}",
                "repository_url": f"{self.api_url}/repos/{repo.full_name}", "created_at": issue["created_at"],
                "pull_request": None, "comments": sum(1 for c in self.comments.values()
                                                      if c["repo"] == repo.full_name and c["issue"] == issue["number"])}

    def comment_json(self, c: dict) -> dict:
        return {"id": c["id"], "body": c["body"], "user": self.user_json(c["user"]),
                "url": f"{self.api_url}/repos/{c['repo']}/issues/comments/{c['id']}",
                "html_url": f"{self.web_url}/{c['repo']}/issues/{c['issue']}#issuecomment-{c['id']}",
                "issue_url": f"{self.api_url}/repos/{c['repo']}/issues/{c['issue']}",
                "created_at": c["created_at"], "updated_at": c["updated_at"]}

    def pull_json(self, repo: Repo, pr: dict) -> dict:
        api = f"{self.api_url}/repos/{repo.full_name}/pulls/{pr['number']}"
        branches = repo.branches()
        ref = lambda name: {"ref": name, "sha": branches.get(name, ""), "label": f"{repo.owner}:{name}",  # noqa: E731
                            "repo": self.repo_json(repo), "user": self.user_json(repo.owner)}
        return {"id": pr["id"], "number": pr["number"], "title": pr["title"], "body": pr["body"], "state": pr["state"],
                "draft": pr["draft"], "user": self.user_json(pr["user"]), "url": api,
                "html_url": f"{self.web_url}/{repo.full_name}/pull/{pr['number']}",
                "issue_url": f"{self.api_url}/repos/{repo.full_name}/issues/{pr['number']}",
                "head": ref(pr["head"]), "base": ref(pr["base"]), "created_at": pr["created_at"],
                "updated_at": pr["updated_at"], "merged": False}
