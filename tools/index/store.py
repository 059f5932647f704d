"""The parse cache: one SQLite row per (language, git blob SHA).

A blob's SHA names its exact content, so after a checkout only files whose content changed miss
the cache, whatever the commit distance; renames and reverts hit it too. The cache is a speed-up
only: any SQLite error (a read-only home, a locked file) degrades to parsing, never to a failure.
"""
from __future__ import annotations

import marshal
import os
import sqlite3
from pathlib import Path

from tools.index.languages import schema_digest
from tools.index.parse import EXTRACTION_VERSION, Record

_CHUNK = 500  # SQLite caps bound parameters per statement


def default_cache_path() -> Path | None:
    """$PATCHWRIGHT_INDEX_CACHE (empty or "off" disables), else ~/.cache/patchwright/index.sqlite."""
    env = os.environ.get("PATCHWRIGHT_INDEX_CACHE")
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "none") else Path(env).expanduser()
    return Path.home() / ".cache" / "patchwright" / "index.sqlite"


class BlobCache:
    def __init__(self, path: Path | None):
        # Entries made by another extraction (other queries, older code) live in another table.
        self.table = f"blobs_{schema_digest(EXTRACTION_VERSION)}"
        self.db: sqlite3.Connection | None = None
        if path is None:
            return
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (key TEXT PRIMARY KEY, data BLOB)")
            stale = [r[0] for r in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'blobs_%'")
                if r[0] != self.table]
            for name in stale:  # superseded extractions would only grow the file
                self.db.execute(f"DROP TABLE IF EXISTS {name}")
        except (sqlite3.Error, OSError):
            self.db = None

    def get_many(self, keys: list[str]) -> dict[str, Record]:
        found: dict[str, Record] = {}
        if self.db is None or not keys:
            return found
        try:
            for i in range(0, len(keys), _CHUNK):
                chunk = keys[i:i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for key, data in self.db.execute(
                        f"SELECT key, data FROM {self.table} WHERE key IN ({marks})", chunk):
                    found[key] = Record(*marshal.loads(data))
        except (sqlite3.Error, ValueError, EOFError, TypeError):
            return found
        return found

    def put_many(self, items: dict[str, Record]) -> None:
        if self.db is None or not items:
            return
        rows = [(k, marshal.dumps(tuple(r))) for k, r in items.items()]
        try:
            self.db.execute("BEGIN")
            self.db.executemany(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?)", rows)
            self.db.execute("COMMIT")
        except sqlite3.Error:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
