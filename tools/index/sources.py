"""Where file contents come from: a working tree, or a commit read straight out of git.

Reading a commit with `git ls-tree` + one `git cat-file --batch` process needs no checkout, so a
bare mirror can be indexed at any base commit in well under a second of git time, and the blob
SHAs that key the parse cache come for free.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from tools import gitsafe
from tools.errors import ToolError

# Directories that hold third-party or generated code; indexing them drowns the project's own code.
SKIP_DIRS = {
    ".git", ".hg", ".svn", "node_modules", "__pycache__", "venv", ".venv", "env", ".env",
    "virtualenv", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build",
    "dist", "site-packages", ".eggs", "htmlcov", "target", "vendor", "third_party",
}


@dataclass
class Entry:
    path: str            # repo-relative posix path
    size: int
    sha: str | None      # git blob SHA when git already knows it


def skipped_dir(name: str) -> bool:
    return name in SKIP_DIRS or name.endswith(".egg-info")


def blob_sha(data: bytes) -> str:
    """The SHA git gives these bytes, so worktree files and commits share cache entries."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _git(root: Path, *args: str) -> bytes:
    try:
        return gitsafe.run(root, list(args), timeout=300).stdout
    except ToolError as exc:
        raise ToolError(f"{exc} (in {root})") from exc


def worktree_entries(root: Path) -> list[Entry]:
    paths = _git_listed(root)
    if paths is None:
        paths = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not skipped_dir(d))
            rel_dir = Path(dirpath).relative_to(root)
            paths.extend((rel_dir / f).as_posix() for f in filenames)
    out = []
    for rel in sorted(set(paths)):
        if any(skipped_dir(part) for part in rel.split("/")[:-1]):
            continue
        full = root / rel
        try:
            if full.is_symlink() or not full.is_file():
                continue
            out.append(Entry(rel, full.stat().st_size, None))
        except OSError:
            continue
    return out


def _git_listed(root: Path) -> list[str] | None:
    """Tracked plus untracked-but-not-ignored files, so new files the agent wrote are indexed."""
    if not (root / ".git").exists():
        return None
    try:
        out = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    except ToolError:
        return None
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def commit_entries(root: Path, commit: str) -> list[Entry]:
    out = _git(root, "ls-tree", "-r", "-z", "-l", "--full-tree", commit)
    entries = []
    for item in out.split(b"\0"):
        if not item:
            continue
        meta, _, path = item.partition(b"\t")
        mode, kind, sha, size = meta.split()
        if kind != b"blob" or mode == b"120000":  # submodules and symlinks hold no code here
            continue
        rel = path.decode("utf-8", "surrogateescape")
        if any(skipped_dir(part) for part in rel.split("/")[:-1]):
            continue
        # A partial mirror may lack a blob: ls-tree prints "BAD" for its size; read_blobs skips it.
        entries.append(Entry(rel, int(size) if size.isdigit() else -1, sha.decode()))
    return entries


def read_blobs(root: Path, shas: list[str]) -> list[bytes | None]:
    """Contents of many blobs through one `git cat-file --batch` process, in order (None: missing)."""
    if not shas:
        return []
    proc = subprocess.Popen(gitsafe.command(root, ["cat-file", "--batch"]), env=gitsafe.environment(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    # Writing from a thread while reading here avoids a pipe deadlock on big requests.
    writer = threading.Thread(target=_feed, args=(proc, shas), daemon=True)
    writer.start()
    out = []
    try:
        for sha in shas:
            header = proc.stdout.readline().split()
            if len(header) == 2 and header[1] == b"missing":
                out.append(None)
                continue
            if len(header) != 3:
                raise ToolError(f"git cat-file: unexpected reply for blob {sha} in {root}")
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)  # the newline after each object
            out.append(data)
    finally:
        writer.join()
        proc.stdout.close()
        proc.wait()
    return out


def _feed(proc, shas: list[str]) -> None:
    try:
        proc.stdin.write("".join(s + "\n" for s in shas).encode())
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass


def read_at_commit(root: Path, commit: str, path: str) -> bytes:
    return _git(root, "cat-file", "blob", f"{commit}:{path}")
