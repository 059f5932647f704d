"""The job store: which deliveries were seen, which jobs exist and who is running them.

SQLite under home/app/, shared by the webhook server and the workers on one host. The queue (huey)
only carries job ids to wake a worker; this store is the truth, so a lost or duplicated queue
message is harmless: claims are atomic, and recovery re-enqueues whatever a dead worker held.

    received --intake--> queued --run--> running --> done | failed
             \\--------> refused (sender may not write)
"""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ACTIVE = ("received", "intake", "queued", "running")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, issue_key TEXT NOT NULL, repo TEXT NOT NULL, number INTEGER NOT NULL,
  installation_id INTEGER, sender TEXT, trigger TEXT, state TEXT NOT NULL, status TEXT, reason TEXT,
  run_id TEXT, comment_id INTEGER, pr_url TEXT, owner TEXT, heartbeat REAL, attempts INTEGER DEFAULT 0,
  created REAL, updated REAL);
-- One active job per issue, enforced by SQLite itself rather than by a check-then-insert race.
CREATE UNIQUE INDEX IF NOT EXISTS one_active_job ON jobs(issue_key) WHERE state IN ('received','intake','queued','running');
CREATE TABLE IF NOT EXISTS deliveries (delivery_id TEXT PRIMARY KEY, event TEXT, job_id INTEGER, outcome TEXT, received REAL);
CREATE TABLE IF NOT EXISTS installations (id INTEGER PRIMARY KEY, account TEXT, action TEXT, repositories TEXT, updated REAL);
-- Who was told they may not start a run, per issue: the answer is posted once, later asks only counted.
CREATE TABLE IF NOT EXISTS refusals (repo TEXT, number INTEGER, user TEXT, asks INTEGER, first REAL, last REAL,
  PRIMARY KEY (repo, number, user));
"""


@dataclass
class Job:
    id: int
    issue_key: str
    repo: str
    number: int
    installation_id: int | None
    sender: str
    trigger: str
    state: str
    status: str | None
    reason: str | None
    run_id: str | None
    comment_id: int | None
    pr_url: str | None
    owner: str | None
    heartbeat: float | None
    attempts: int
    created: float
    updated: float


def this_process() -> str:
    """host:pid:start-time: the start time tells a live process from a later one that reused the pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid())}"


def _start_ticks(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[1].split()
    return "" if fields[0] == "Z" else fields[19]  # a zombie has finished: it counts as dead


def owner_alive(owner: str | None, heartbeat: float | None, lease: float) -> bool:
    if not owner:
        return False
    host, pid, ticks = owner.rsplit(":", 2)
    if host != socket.gethostname():
        return heartbeat is not None and time.time() - heartbeat < lease
    return _start_ticks(int(pid)) == ticks and ticks != ""


class JobStore:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()  # one connection per thread: opening one per call costs more than the write
        self._db().executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # explicit BEGIN IMMEDIATE below
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")  # readers (the web page) never block the webhook's writes
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def _tx(self, fn):
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    def add_trigger(self, delivery_id: str, event: str, repo: str, number: int, installation_id: int | None,
                    sender: str, trigger: str) -> tuple[int, str]:
        """Record a delivery that asks for a run: (job id, 'created' | 'duplicate delivery' | 'already running')."""
        key = f"{repo}#{number}"

        def add(db):
            seen = db.execute("SELECT job_id FROM deliveries WHERE delivery_id=?", (delivery_id,)).fetchone()
            if seen is not None:
                return seen["job_id"], "duplicate delivery"
            active = db.execute(f"SELECT id FROM jobs WHERE issue_key=? AND state IN {ACTIVE}", (key,)).fetchone()
            if active is not None:
                job_id, outcome = active["id"], "already running"
            else:
                now = time.time()
                job_id = db.execute(
                    "INSERT INTO jobs (issue_key, repo, number, installation_id, sender, trigger, state, status,"
                    " created, updated) VALUES (?,?,?,?,?,?, 'received', 'received', ?, ?)",
                    (key, repo, number, installation_id, sender, trigger, now, now)).lastrowid
                outcome = "created"
            db.execute("INSERT INTO deliveries VALUES (?,?,?,?,?)", (delivery_id, event, job_id, outcome, time.time()))
            return job_id, outcome

        return self._tx(add)

    def add_delivery(self, delivery_id: str, event: str, outcome: str) -> bool:
        """Record a delivery that starts nothing; False if it was seen before."""
        def add(db):
            cur = db.execute("INSERT OR IGNORE INTO deliveries VALUES (?,?,NULL,?,?)", (delivery_id, event, outcome, time.time()))
            return cur.rowcount == 1
        return self._tx(add)

    def record_installation(self, installation_id: int, account: str, action: str, repositories: list[str]) -> None:
        self._tx(lambda db: db.execute("INSERT OR REPLACE INTO installations VALUES (?,?,?,?,?)",
                                       (installation_id, account, action, json.dumps(repositories), time.time())))

    def refused_before(self, repo: str, number: int, user: str) -> bool:
        row = self._db().execute("SELECT 1 FROM refusals WHERE repo=? AND number=? AND user=?", (repo, number, user))
        return row.fetchone() is not None

    def record_refusal(self, repo: str, number: int, user: str) -> int:
        """Count one more refused ask; returns how many there have been."""
        def add(db):
            now = time.time()
            db.execute("INSERT INTO refusals VALUES (?,?,?,1,?,?)"
                       " ON CONFLICT (repo, number, user) DO UPDATE SET asks=asks+1, last=?", (repo, number, user, now, now, now))
            return db.execute("SELECT asks FROM refusals WHERE repo=? AND number=? AND user=?",
                              (repo, number, user)).fetchone()["asks"]
        return self._tx(add)

    def installations(self) -> list[dict]:
        return [dict(r) for r in self._db().execute("SELECT * FROM installations ORDER BY updated DESC")]

    def get(self, job_id: int) -> Job | None:
        row = self._db().execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return Job(**dict(row)) if row else None

    def jobs(self, limit: int = 200) -> list[Job]:
        return [Job(**dict(r)) for r in self._db().execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))]

    def claim(self, job_id: int, owner: str, from_state: str, to_state: str, max_attempts: int) -> Job | None:
        """Take the job if it is in `from_state`: at most one worker gets it (None for the others).
        A job started `max_attempts` times already comes back failed instead: it keeps taking its
        worker down, and the caller only has to say so on GitHub."""
        def take(db):
            row = db.execute("SELECT attempts FROM jobs WHERE id=? AND state=?", (job_id, from_state)).fetchone()
            if row is None:
                return False
            if to_state == "running" and row["attempts"] >= max_attempts:
                db.execute("UPDATE jobs SET state='failed', status='failed', reason=?, owner=NULL, updated=? WHERE id=?",
                           (f"gave up: the job was started {row['attempts']} times and never finished", time.time(), job_id))
                return True
            db.execute("UPDATE jobs SET state=?, owner=?, heartbeat=?, updated=?, attempts=attempts+? WHERE id=?",
                       (to_state, owner, time.time(), time.time(), int(to_state == "running"), job_id))
            return True
        return self.get(job_id) if self._tx(take) else None

    def update(self, job_id: int, **fields) -> None:
        fields["updated"] = time.time()
        names = ", ".join(f"{k}=?" for k in fields)
        self._tx(lambda db: db.execute(f"UPDATE jobs SET {names} WHERE id=?", (*fields.values(), job_id)))

    def beat(self, job_id: int, owner: str) -> None:
        self._tx(lambda db: db.execute("UPDATE jobs SET heartbeat=? WHERE id=? AND owner=?", (time.time(), job_id, owner)))

    def recover(self, lease: float) -> list[Job]:
        """Hand back jobs whose worker died (intake -> received, running -> queued) and return every
        job waiting for a worker, so the caller can make sure each has a queue message."""
        def sweep(db):
            for row in db.execute("SELECT id, state, owner, heartbeat FROM jobs WHERE state IN ('intake','running')").fetchall():
                if not owner_alive(row["owner"], row["heartbeat"], lease):
                    back = "received" if row["state"] == "intake" else "queued"
                    db.execute("UPDATE jobs SET state=?, owner=NULL, updated=? WHERE id=?", (back, time.time(), row["id"]))
        self._tx(sweep)
        return [j for j in self.jobs(limit=10_000) if j.state in ("received", "queued")]
