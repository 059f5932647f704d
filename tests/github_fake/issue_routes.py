"""Issue operations the fake serves for backlog triage: listing a repository's issues (with
`state`, `per_page`, `page` as GitHub documents them) and adding labels. The server registers
ROUTES with the others (server.py)."""
from __future__ import annotations

import re

from .routes import _issue, _repo
from .world import World


def list_issues(world: World, who, owner, name, *, query, data):
    repo = _repo(world, who, owner, name)
    state = query.get("state", ["open"])[0]
    per_page = min(100, int(query.get("per_page", ["30"])[0]))
    page = max(1, int(query.get("page", ["1"])[0]))
    found = sorted((i for i in repo.issues.values() if state in ("all", i["state"])), key=lambda i: -i["number"])
    return 200, [world.issue_json(repo, i) for i in found[(page - 1) * per_page: page * per_page]]


def add_labels(world: World, who, owner, name, number, *, query, data):
    repo = _repo(world, who, owner, name, write=True)
    issue = _issue(repo, number)
    names = data if isinstance(data, list) else data.get("labels", [])
    names = [n if isinstance(n, str) else n["name"] for n in names]
    with world.lock:
        for label in names:
            if label not in [x["name"] for x in issue["labels"]]:
                issue["labels"].append({"id": world.next_id(), "name": label, "color": "ededed",
                                        "default": False, "description": None,
                                        "url": f"{world.api_url}/repos/{repo.full_name}/labels/{label}"})
    return 200, issue["labels"]


_R = r"/repos/([^/]+)/([^/]+)"
ROUTES = [("GET", re.compile(_R + r"/issues"), list_issues),
          ("POST", re.compile(_R + r"/issues/(\d+)/labels"), add_labels)]
