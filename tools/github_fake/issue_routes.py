"""Extra issue operations for the fake, used by backlog triage: listing a repository's issues
(with `state`, `sort`, `per_page`, `page` as GitHub documents them) and adding labels. Importing
this module registers them on the fake's route table; `add_closed_issue` seeds closed issues."""
from __future__ import annotations

import re

from tools.github_fake.routes import ROUTES, _issue, _repo
from tools.github_fake.world import World, _now


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


def add_closed_issue(world: World, full_name: str, number: int, title: str, body: str, user: str = "octocat") -> dict:
    issue = world.add_issue(full_name, number, title, body, user)
    issue.update(state="closed", closed_at=_now())
    return issue


_R = r"/repos/([^/]+)/([^/]+)"
_EXTRA = [("GET", re.compile(_R + r"/issues"), list_issues),
          ("POST", re.compile(_R + r"/issues/(\d+)/labels"), add_labels)]
for _route in _EXTRA:
    if _route not in ROUTES:
        ROUTES.append(_route)
