"""What a webhook delivery asks for, decided from the event name and payload alone (no I/O).

Triggers: `issues.labeled` with the configured label, and `issue_comment.created` with the
command on a line of its own. `installation` events are recorded. Everything else is ignored.
"""
from __future__ import annotations

from dataclasses import dataclass


EVENTS = ("issues", "issue_comment", "installation")  # the events the App subscribes to or always gets


class BadPayload(ValueError):
    """The payload lacks a field the event must have: answered 400."""


@dataclass
class Trigger:
    repo: str
    number: int
    installation_id: int | None
    sender: str
    trigger: str


@dataclass
class Installation:
    id: int
    account: str
    action: str
    repositories: list[str]


@dataclass
class Ignore:
    reason: str


def interpret(event: str, payload: dict, label: str, command: str) -> Trigger | Installation | Ignore:
    try:
        if event == "issues":
            return _labeled(payload, label)
        if event == "issue_comment":
            return _comment(payload, command)
        if event == "installation":
            inst = payload["installation"]
            repos = [r["full_name"] for r in payload.get("repositories") or []]
            return Installation(int(inst["id"]), inst["account"]["login"], payload["action"], repos)
    except (KeyError, TypeError, ValueError) as e:
        raise BadPayload(f"{event} payload lacks or mangles {e}") from e
    return Ignore(f"event '{event}' is not one patchwright acts on")


def _trigger(payload: dict, why: str) -> Trigger:
    installation = (payload.get("installation") or {}).get("id")
    return Trigger(repo=payload["repository"]["full_name"], number=int(payload["issue"]["number"]),
                   installation_id=int(installation) if installation else None,
                   sender=payload["sender"]["login"], trigger=why)


def _labeled(payload: dict, label: str) -> Trigger | Ignore:
    action = payload["action"]
    if action != "labeled":
        return Ignore(f"issues.{action} starts nothing")
    name = payload["label"]["name"]
    if name != label:
        return Ignore(f"label '{name}' is not '{label}'")
    if payload["issue"].get("pull_request"):
        return Ignore("labelled a pull request, not an issue")
    if payload["issue"].get("state") == "closed":
        return Ignore("the issue is closed")
    return _trigger(payload, f"label '{label}' added by {payload['sender']['login']}")


def _comment(payload: dict, command: str) -> Trigger | Ignore:
    action = payload["action"]
    if action != "created":
        return Ignore(f"issue_comment.{action} starts nothing")
    if payload["sender"].get("type") == "Bot":
        return Ignore("comments by bots start nothing")  # never answer our own comments
    lines = (payload["comment"].get("body") or "").splitlines()
    if not any(line.strip().startswith(command) for line in lines):
        return Ignore(f"the comment does not say '{command}'")
    if payload["issue"].get("pull_request"):
        return Ignore("a comment on a pull request, not an issue")
    return _trigger(payload, f"'{command}' from {payload['sender']['login']}")
