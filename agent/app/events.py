"""What a webhook delivery asks for, decided from the event name and payload alone (no I/O).

Triggers: `issues.labeled` with the configured label, and `issue_comment.created` with the
command at the start of a line, as whole words (`/patchwright fix please`, not `/patchwright fixme`).
`installation` events are recorded. Everything else is ignored. A field of the wrong type is a
mangled payload (400), never an error further in (500).
"""
from __future__ import annotations

import re
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
            repos = [_repo(r["full_name"]) for r in payload.get("repositories") or []]
            return Installation(_id(inst["id"]), _name(inst["account"]["login"]), _name(payload["action"]), repos)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise BadPayload(f"{event} payload lacks or mangles {str(e)[:200]}") from e
    return Ignore(f"event '{event}' is not one patchwright acts on")


def _id(value) -> int:
    # An int SQLite can store: a float, a string or a 30-digit number would fail only at the write.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise ValueError(f"id {str(value)[:40]!r}")
    return value


def _name(value) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 255:
        raise ValueError(f"name {str(value)[:40]!r}")
    return value


def _repo(value) -> str:
    # owner/name as GitHub allows them: the worker builds a mirror path from it.
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9-]{1,100}/(?!\.+$)[A-Za-z0-9_.-]{1,100}", value):
        raise ValueError(f"repository {str(value)[:80]!r}")
    return value


def _trigger(payload: dict, why: str) -> Trigger:
    installation = (payload.get("installation") or {}).get("id")
    return Trigger(repo=_repo(payload["repository"]["full_name"]), number=_id(payload["issue"]["number"]),
                   installation_id=_id(installation) if installation else None,
                   sender=_name(payload["sender"]["login"]), trigger=why)


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
    if not said(payload["comment"].get("body") or "", command):
        return Ignore(f"the comment does not say '{command}'")
    if payload["issue"].get("pull_request"):
        return Ignore("a comment on a pull request, not an issue")
    return _trigger(payload, f"'{command}' from {payload['sender']['login']}")


def said(body: str, command: str) -> bool:
    """The command at the start of a line and followed by nothing or by whitespace: a longer
    word that begins with it (`/patchwright fixme`) is not the command."""
    return re.search(rf"^[ \t]*{re.escape(command)}(?=\s|$)", body, re.MULTILINE) is not None
