"""Backlog reads and idempotent writes through PyGithub. Writes happen only when something would
change: a label already on the issue is not added again, and the triage comment (found by its
hidden MARKER, posted by a bot) is created once and edited only when its text differs."""
from __future__ import annotations

from dataclasses import dataclass, field

from tools.forge.comment import MarkerComment, is_marked

MARKER = "<!-- patchwright:triage -->"


@dataclass
class Item:
    """One issue as triage sees it, plus the PyGithub object for writes (None in pure tests)."""

    number: int
    title: str
    body: str
    state: str
    labels: list[str]
    comments: list[str] = field(default_factory=list)
    triage_comment: object | None = None   # the existing bot comment carrying MARKER
    raw: object | None = None

    def as_dict(self) -> dict:
        return {"number": self.number, "title": self.title, "body": self.body, "state": self.state,
                "labels": self.labels}


def read_backlog(repo, limit: int | None, closed_limit: int) -> tuple[list[Item], list[Item]]:
    """(open issues with their comments, the most recently updated closed issues without)."""
    open_items: list[Item] = []
    for issue in _pages(repo.get_issues(state="open"), limit):
        if issue.pull_request is not None:
            continue
        if limit is not None and len(open_items) >= limit:
            break
        item = _item(issue)
        if issue.comments:
            for c in issue.get_comments():
                if is_marked(c, MARKER):
                    item.triage_comment = c
                else:
                    item.comments.append(c.body or "")
        open_items.append(item)
    closed: list[Item] = []
    if closed_limit > 0:
        for issue in _pages(repo.get_issues(state="closed", sort="updated", direction="desc"), closed_limit):
            if len(closed) >= closed_limit:
                break
            if issue.pull_request is None:
                closed.append(_item(issue))
    return open_items, closed


def _pages(listing, wanted: int | None, per_page: int = 100):
    """Page by page (page=1, 2, ...) until a short page or enough items: this follows no Link
    headers, so it works the same on servers that omit them."""
    seen, page = 0, 0
    while wanted is None or seen < wanted:
        items = listing.get_page(page)
        yield from items
        seen += len(items)
        if len(items) < per_page:
            return
        page += 1


def _item(issue) -> Item:
    return Item(issue.number, issue.title or "", issue.body or "", issue.state,
                [lbl.name for lbl in issue.labels], raw=issue)


def apply(item: Item, label: str | None, comment: str) -> int:
    """Add the label and upsert the triage comment; returns how many write calls were made."""
    writes = 0
    if label and label not in item.labels:
        # {"labels": [...]}: the form GitHub's OpenAPI description gives (PyGithub's add_to_labels sends a bare list)
        item.raw.requester.requestJsonAndCheck("POST", f"{item.raw.url}/labels", input={"labels": [label]})
        item.labels.append(label)
        writes += 1
    note = MarkerComment(item.raw, MARKER, item.triage_comment)
    if note.show(f"{comment.strip()}\n"):
        item.triage_comment = note.comment
        writes += 1
    return writes
