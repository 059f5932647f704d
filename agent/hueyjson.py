"""huey that carries JSON, never pickle, for both queues (the App's and SWE-bench's).

huey's default serializer unpickles whatever it finds in the queue storage, so anyone who can
write to the Redis (or the SQLite file) could run code in every worker. Here a message is a JSON
object of huey's own fields (task name, id, JSON arguments, times as ISO strings); anything else
(a pickle, another shape) is dropped with a log line, and nothing is ever unpickled. A task
whose arguments are not JSON fails at enqueue, in the process that sent it.
"""
from __future__ import annotations

import datetime
import json
import logging

from huey import RedisHuey, SqliteHuey
from huey.exceptions import HueyException
from huey.registry import Message
from huey.serializer import Serializer
from huey.utils import Error

log = logging.getLogger("patchwright.queue")
_TIME = "$datetime"  # huey's own datetimes (eta, revoke-until) as {"$datetime": ISO string}
_NUMBERS = ("retries", "retry_delay", "priority", "expires", "timeout", "retry_backoff")


class Rejected(ValueError):
    """Queue data that is not one of our JSON messages."""


def _default(value):
    if isinstance(value, datetime.datetime):
        return {_TIME: value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not carried by the JSON queue: task arguments must be JSON")


def _hook(obj: dict):
    if len(obj) == 1 and isinstance(obj.get(_TIME), str):
        return datetime.datetime.fromisoformat(obj[_TIME])  # a ValueError if malformed: rejected
    return obj


class JSONSerializer(Serializer):
    def _serialize(self, data) -> bytes:
        if isinstance(data, Message):
            fields = data._asdict()
            if fields.get("on_complete") or fields.get("on_error") or fields.get("chord_config"):
                raise TypeError("pipelines and chords are not carried by the JSON queue")
            doc = {"task": fields}
        elif isinstance(data, Error):
            doc = {"error": data.metadata}  # a task's exception, as huey's result of it
        else:
            doc = {"value": data}
        return json.dumps(doc, separators=(",", ":"), allow_nan=False, default=_default).encode()

    def _deserialize(self, data: bytes):
        try:
            doc = json.loads(data.decode("utf-8"), object_hook=_hook)
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise Rejected(f"not JSON ({type(e).__name__})") from None
        if not isinstance(doc, dict) or len(doc) != 1:
            raise Rejected("not a JSON object with one key")
        kind, body = next(iter(doc.items()))
        if kind == "value":
            return body
        if kind == "error" and isinstance(body, dict):
            return Error(body)
        if kind == "task" and isinstance(body, dict):
            return _message(body)
        raise Rejected(f"unexpected shape {kind[:40]!r}")


def _message(fields: dict) -> Message:
    if not set(fields) <= set(Message._fields):
        raise Rejected(f"unknown task fields {sorted(set(fields) - set(Message._fields))[:5]}")
    ok = (isinstance(fields.get("id"), str) and isinstance(fields.get("name"), str)
          and isinstance(fields.get("args", []), list) and isinstance(fields.get("kwargs") or {}, dict)
          and all(fields.get(k) is None for k in ("on_complete", "on_error", "chord_config"))
          and all(isinstance(fields.get(k), (datetime.datetime, type(None))) for k in ("eta", "expires_resolved"))
          and all(isinstance(fields.get(k), (int, float, type(None))) for k in _NUMBERS))
    if not ok:
        raise Rejected("a task with fields of the wrong type")
    return Message(**{**fields, "args": tuple(fields.get("args", ()))})


class _JSONOnly:
    """Mixed in before SqliteHuey / RedisHuey: the JSON serializer, and a message it rejects is
    dropped with a log line (it has already left the storage) instead of stopping dequeue()."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, serializer=JSONSerializer(), **kwargs)

    def deserialize_task(self, data):
        try:
            message = self.serializer.deserialize(data)
            if not isinstance(message, Message):
                raise Rejected("a value where a task belongs")
            return self._registry.create_task(message)
        except (Rejected, HueyException) as e:  # HueyException: a task name no one registered
            log.warning("dropped a queue message that is not patchwright's JSON: %s (%d bytes)", e, len(data))
            raise Rejected(str(e)) from None

    def dequeue(self):
        while (data := self.storage.dequeue()) is not None:
            try:
                return self.deserialize_task(data)
            except Rejected:
                continue  # logged; the next message may be a real one
        return None

    def pending(self, limit=None):
        tasks = []
        for data in self.storage.enqueued_items(limit):
            try:
                tasks.append(self.deserialize_task(data))
            except Rejected:
                pass
        return tasks


class JSONSqliteHuey(_JSONOnly, SqliteHuey):
    pass


class JSONRedisHuey(_JSONOnly, RedisHuey):
    pass
