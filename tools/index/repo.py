"""The repository index: every supported source file, its text, symbols, references and imports.

Built from a working tree, or from a commit read straight out of git (no checkout). Parses are
cached by blob SHA (tools/index/store.py), so re-indexing after a checkout parses changed files only.
"""
from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from pathlib import Path

from tools.errors import ToolError
from tools.index import parse as parse_mod
from tools.index.base import Symbol
from tools.index.languages import language_for
from tools.index.parse import Record
from tools.index.sources import (blob_sha, commit_entries, read_at_commit, read_blobs,
                                 worktree_entries)
from tools.index.store import BlobCache, default_cache_path

_DEFAULT = object()
MINIFIED_MIN_BYTES = 20_000
MINIFIED_BYTES_PER_LINE = 500  # bundles and minified files: one enormous line, no human code
PARALLEL_MIN_FILES = 200       # below this, starting processes costs more than it saves


class RepoIndex:
    """Files, their text and their tags; built once per working copy or commit."""

    def __init__(self, root: Path, texts: dict[str, str], records: dict[str, Record],
                 langs: dict[str, str], stats: dict, commit: str | None = None,
                 keys: dict[str, str] | None = None):
        self.root = root
        self.commit = commit
        self.stats = stats
        self._texts = texts
        self._records = records
        self._langs = langs
        self._keys = keys or {}
        self._symbols: list[Symbol] | None = None
        self._by_path: dict[str, list[Symbol]] | None = None

    def files(self) -> list[str]:
        return list(self._texts)

    def symbols(self) -> list[Symbol]:
        if self._symbols is None:  # built on first use: a re-index that only reads stats stays fast
            self._by_path = {p: [Symbol(p, *s) for s in r.symbols] for p, r in self._records.items()}
            self._symbols = [s for syms in self._by_path.values() for s in syms]
        return list(self._symbols)

    def symbols_in(self, path: str) -> list[Symbol]:
        if self._by_path is None:
            self.symbols()
        return list(self._by_path.get(path, ()))

    def references(self, path: str) -> list[tuple[str, int]]:
        """(name, line) of every call, instantiation or base class written in the file."""
        rec = self._records.get(path)
        return list(zip(rec.refs, rec.ref_lines)) if rec else []

    def imports(self, path: str) -> list[tuple[str, str, int]]:
        """(module as written, imported name or "", line)."""
        rec = self._records.get(path)
        return list(rec.imports) if rec else []

    def language(self, path: str) -> str | None:
        return self._langs.get(path)

    def blob_key(self, path: str) -> str | None:
        """Language and git blob SHA of an indexed file: equal keys mean equal content."""
        return self._keys.get(path)

    def read(self, path: str) -> str:
        if path in self._texts:
            return self._texts[path]
        if self.commit is not None:
            try:
                data = read_at_commit(self.root, self.commit, path)
            except ToolError as exc:
                raise ToolError(f"no such file in repository at {self.commit[:12]}: {path}") from exc
        else:
            # Files outside the index (README, setup.cfg...) are readable, but never outside root.
            full, top = (self.root / path).resolve(), self.root.resolve()
            if not full.is_relative_to(top) or full.is_relative_to(top / ".git") or not full.is_file():
                raise ToolError(f"no such file in repository: {path}")
            data = full.read_bytes()
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ToolError(f"{path} is not UTF-8 text") from exc


def build_index(root: Path, *, commit: str | None = None, cache=_DEFAULT,
                max_file_bytes: int = 1_000_000, workers: int = 1) -> RepoIndex:
    """Index the working tree at `root`, or `commit` of the git repository at `root` (bare is fine).

    `cache`: a SQLite path, None for no persistent cache, or the default
    ($PATCHWRIGHT_INDEX_CACHE or ~/.cache/patchwright/index.sqlite). `workers` > 1 parses a
    cold repository in that many processes.
    """
    t0 = time.perf_counter()
    root = Path(root)
    stats: Counter = Counter()
    entries = commit_entries(root, commit) if commit else worktree_entries(root)
    wanted = []
    for e in entries:
        lang = language_for(e.path)
        if lang is None:
            continue
        if e.size > max_file_bytes:
            _skip(stats, "huge")
            continue
        wanted.append((e, lang))
    if commit:
        datas = read_blobs(root, [e.sha for e, _ in wanted])
    else:
        datas = [_read_file(root / e.path) for e, _ in wanted]

    texts: dict[str, str] = {}
    langs: dict[str, str] = {}
    todo: list[tuple[str, str, bytes]] = []  # (path, key, bytes) of files that decode cleanly
    for (e, lang), data in zip(wanted, datas):
        if data is None:
            _skip(stats, "unreadable")  # deleted since listing, or absent from a partial mirror
            continue
        if b"\0" in data[:8192]:
            _skip(stats, "binary")
            continue
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            _skip(stats, "non_utf8")
            continue
        if len(data) > MINIFIED_MIN_BYTES and data.count(b"\n") * MINIFIED_BYTES_PER_LINE < len(data):
            _skip(stats, "minified")
            continue
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]  # keep tree-sitter byte offsets aligned with `text`
        texts[e.path] = text
        langs[e.path] = lang.name
        todo.append((e.path, f"{lang.name}:{e.sha or blob_sha(data)}", data))

    store = BlobCache(default_cache_path() if cache is _DEFAULT else (Path(cache) if cache else None))
    try:
        found = store.get_many(sorted({k for _, k, _ in todo}))
        misses = {k: (path, data) for path, k, data in todo if k not in found}
        fresh = _parse_many(misses, workers)
        store.put_many({k: r for k, r in fresh.items() if isinstance(r, Record)})
    finally:
        store.close()
    records: dict[str, Record] = {}
    keys: dict[str, str] = {}
    for path, key, _ in todo:
        rec = found.get(key) or fresh.get(key)
        if not isinstance(rec, Record):  # a missing grammar, or an extraction bug: one file lost
            _skip(stats, rec or "parse_failed")
            del texts[path], langs[path]
            continue
        stats["cached" if key in found else "parsed"] += 1
        records[path] = rec
        keys[path] = key

    for path, rec in records.items():
        stats["with_errors"] += rec.has_error
        stats["symbols"] += len(rec.symbols)
        stats["references"] += len(rec.refs)
        stats["imports"] += len(rec.imports)
        stats["lines"] += texts[path].count("\n")
        stats[f"files_{langs[path]}"] += 1
    stats["files_indexed"] = len(records)
    out = {k: stats.get(k, 0) for k in ("files_indexed", "symbols", "references", "imports", "lines",
                                         "parsed", "cached", "with_errors", "skipped", "skipped_binary",
                                         "skipped_huge", "skipped_non_utf8", "skipped_minified")}
    out.update((k, v) for k, v in sorted(stats.items()) if k not in out)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return RepoIndex(root, texts, records, langs, out, commit=commit, keys=keys)


def _parse_many(misses: dict[str, tuple[str, bytes]], workers: int) -> dict:
    """key -> Record, or the reason it has none. Several processes when there is much to parse."""
    items = list(misses.items())
    if workers > 1 and len(items) >= PARALLEL_MIN_FILES:
        try:
            ctx = multiprocessing.get_context("fork")
            chunks = [items[i::workers * 4] for i in range(workers * 4)]
            with ctx.Pool(workers) as pool:
                out = {}
                for part in pool.imap_unordered(_parse_chunk, chunks):
                    out.update(part)
            parse_mod.PARSE_COUNT += sum(isinstance(r, Record) for r in out.values())
            return out
        except (OSError, ValueError, multiprocessing.ProcessError):
            pass  # no fork here (or no room for it): parse in this process
    return _parse_chunk(items)


def _parse_chunk(items: list) -> dict:
    out = {}
    for key, (path, data) in items:
        try:
            rec = parse_mod.extract(language_for(path), data)
        except Exception:  # a grammar or extraction bug must cost one file, not the index
            rec = "parse_failed"
        out[key] = rec if rec is not None else "no_grammar"
    return out


def _skip(stats: Counter, why: str) -> None:
    stats["skipped"] += 1
    stats[f"skipped_{why}"] += 1


def _read_file(full: Path) -> bytes | None:
    try:
        return full.read_bytes()
    except OSError:
        return None
