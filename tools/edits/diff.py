"""Turn a working copy into a patch and back, with git as the only source of truth.

Diffing and checking go through a throw-away index (GIT_INDEX_FILE), so neither the repository's
real index nor its working tree is touched by looking at a patch.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from tools.errors import PatchApplyError, ToolError

# Config that would change the diff format (prefixes, colours, external tools) is pinned here.
_DIFF_FLAGS = ["--binary", "--no-color", "--no-ext-diff", "--no-renames", "--full-index",
               "--src-prefix=a/", "--dst-prefix=b/"]


def _git(root: Path, *args: str, stdin: bytes | None = None, env: dict | None = None,
         error: type[ToolError] = ToolError) -> bytes:
    cmd = ["git", "-c", "core.quotepath=off", "-C", str(root), *args]
    try:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, env=env, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        raise error(f"git {args[0]} failed: {exc}") from exc
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip() or proc.stdout.decode("utf-8", "replace").strip()
        raise error(f"git {args[0]} failed: {msg}")
    return proc.stdout


@contextmanager
def _scratch_index(root: Path, *, from_current: bool):
    """An environment whose GIT_INDEX_FILE is a private copy (or a fresh HEAD read)."""
    tmp = tempfile.mkdtemp(prefix="pw-index-")
    try:
        env = dict(os.environ, GIT_INDEX_FILE=os.path.join(tmp, "index"))
        real = Path(root, _git(root, "rev-parse", "--git-path", "index").decode().strip())
        if from_current and real.is_file():
            shutil.copyfile(real, env["GIT_INDEX_FILE"])  # keeps stat info: no rehash of every file
        else:
            _git(root, "read-tree", "HEAD", env=env)
        yield env
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def diff_worktree(root: Path) -> str:
    """Unified diff of the working copy against HEAD, new untracked (non-ignored) files included."""
    root = Path(root)
    _git(root, "rev-parse", "--verify", "HEAD")
    with _scratch_index(root, from_current=True) as env:
        _git(root, "add", "--all", "--", ".", env=env)
        out = _git(root, "diff", "--cached", *_DIFF_FLAGS, "HEAD", env=env)
    return out.decode("utf-8", "surrogateescape")


def reset_worktree(root: Path) -> None:
    """Back to HEAD; ignored files (venvs, caches, build output) are kept on purpose."""
    root = Path(root)
    _git(root, "reset", "--hard", "--quiet", "HEAD")
    _git(root, "clean", "-fd", "--quiet")


def check_applies(root: Path, diff: str) -> None:
    """Would `diff` apply to a clean HEAD? Checked on a scratch index, whatever the worktree holds."""
    root = Path(root)
    if not diff.strip():
        raise PatchApplyError("the diff is empty")
    with _scratch_index(root, from_current=False) as env:
        _git(root, "apply", "--check", "--cached", "-", stdin=_bytes(diff), env=env,
             error=PatchApplyError)


def apply_diff(root: Path, diff: str) -> None:
    root = Path(root)
    if not diff.strip():
        raise PatchApplyError("the diff is empty")
    _git(root, "apply", "--whitespace=nowarn", "-", stdin=_bytes(diff), error=PatchApplyError)


def _bytes(diff: str) -> bytes:
    data = diff.encode("utf-8", "surrogateescape")
    return data if data.endswith(b"\n") else data + b"\n"  # git rejects a hunk cut at EOF
